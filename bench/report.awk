# bench/report.awk: turns bench/measure.bash's CSV into the results table (Markdown, stdout)
# and two data files for bench/chart.gnuplot.
#   awk -F, -v ratios=R.dat -v memory=M.dat -f bench/report.awk RESULTS.csv
# Each figure is one (section, metric, runtime, containers); its cells are the median over the
# runs and the spread [min-max]. The ratio is wedge's median over runc.v2's. A target is checked
# only when both medians are there.

function median(key,    n, i, j, t, a) {
  n = count[key]
  for (i = 1; i <= n; i++) a[i] = vals[key, i]
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  lo[key] = a[1]
  hi[key] = a[n]
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function num(v) {
  if (v >= 100) return sprintf("%.0f", v)
  if (v >= 10) return sprintf("%.1f", v)
  return sprintf("%.3g", v)
}

function cell(fig, shim,    key) {
  key = fig SUBSEP shim
  if (!(key in count)) return "-"
  if (count[key] == 1) return num(med[key])
  return num(med[key]) " [" num(lo[key]) "-" num(hi[key]) "]"
}

BEGIN {
  # Targets of issue 7: "ratio<=X" on wedge/runc.v2, "abs<=X" on wedge's own median.
  target["memory/pss_per_ctr/runc/50"] = "ratio<=0.0667"
  label_target["memory/pss_per_ctr/runc/50"] = "<= 1/15"
  target["memory/rss_per_ctr/runc/50"] = "abs<=1536"
  label_target["memory/rss_per_ctr/runc/50"] = "wedge <= 1536 KiB"
  target["lifecycle/run_rm_true/runc/1"] = "ratio<=0.75"
  label_target["lifecycle/run_rm_true/runc/1"] = "<= 0.75"
  target["lifecycle/run_rm_true/crun/1"] = "ratio<=0.6"
  label_target["lifecycle/run_rm_true/crun/1"] = "<= 0.6"
  target["exec/exec_true/runc/1"] = "ratio<=0.7"
  label_target["exec/exec_true/runc/1"] = "<= 0.7"
  target["stdout/throughput/runc/1"] = "ratio>=1.5"
  label_target["stdout/throughput/runc/1"] = ">= 1.5"
  target["stdout/shim_cpu_per_gib/runc/1"] = "ratio<=0.5"
  label_target["stdout/shim_cpu_per_gib/runc/1"] = "<= 0.5"
  # Issue 12 (podload): the burst's wall over the 32 singles, calls in flight, and never slower
  # than the runc shim.
  target["podload/exec32_over_seq/runc/4"] = "abs<=0.5"
  label_target["podload/exec32_over_seq/runc/4"] = "wedge <= 0.5"
  target["podload/exec8_inflight/runc/4"] = "abs>=4"
  label_target["podload/exec8_inflight/runc/4"] = "wedge >= 4"
  n = split("exec1_median exec32_wall exec32_median exec32_p95 exec8_wall create3_exec_median create3_exec_max create4_par_wall create4_seq_wall", m, " ")
  for (i = 1; i <= n; i++) {
    target["podload/" m[i] "/runc/4"] = "ratio<=1"
    label_target["podload/" m[i] "/runc/4"] = "<= 1"
  }

  title["memory/pss_per_ctr"] = "shim PSS per idle container"
  title["memory/rss_per_ctr"] = "shim RSS per idle container"
  title["memory/pss_total"] = "shim PSS, all containers"
  title["memory/shim_procs"] = "shim processes"
  title["lifecycle/run_rm_true"] = "ctr run --rm true"
  title["lifecycle/cpu_shim_runtime"] = "ctr run --rm true: CPU of shim + runtime"
  title["lifecycle/cpu_ctr"] = "ctr run --rm true: CPU of ctr"
  title["lifecycle/cpu_containerd"] = "ctr run --rm true: CPU of containerd"
  title["exec/exec_true"] = "ctr task exec true"
  title["podexec/exec1_wall"] = "pod in one shim: 1 ctr task exec true"
  title["podexec/exec8_wall"] = "pod in one shim: 8 ctr task exec true at once, wall"
  title["podexec/exec8_inflight"] = "pod in one shim: runtime calls in flight, 8 execs"
  title["podload/exec1_median"] = "CRI pod: 1 ExecSync true (median of 32 in sequence)"
  title["podload/exec32_seq_sum"] = "CRI pod: 32 ExecSync in sequence, sum"
  title["podload/exec32_wall"] = "CRI pod: 32 ExecSync at once, wall"
  title["podload/exec32_median"] = "CRI pod: 32 ExecSync at once, latency median"
  title["podload/exec32_p95"] = "CRI pod: 32 ExecSync at once, latency p95"
  title["podload/exec32_over_seq"] = "CRI pod: 32 at once, wall / 32 in sequence"
  title["podload/exec32_seq_busy"] = "CRI pod: CPUs busy during the 32 in sequence"
  title["podload/exec32_busy"] = "CRI pod: CPUs busy during the 32 at once"
  title["podload/exec32_inflight"] = "CRI pod: runtime calls in flight, 32 ExecSync"
  title["podload/exec8_inflight"] = "CRI pod: runtime calls in flight, 8 ExecSync"
  title["podload/exec8_wall"] = "CRI pod: 8 ExecSync at once, wall"
  title["podload/create3_exec_median"] = "CRI pod: ExecSync while 3 containers start, median"
  title["podload/create3_exec_max"] = "CRI pod: ExecSync while 3 containers start, max"
  title["podload/create4_par_wall"] = "CRI pod: 4 create+start at once, wall"
  title["podload/create4_seq_wall"] = "CRI pod: 4 create+start in sequence"
  title["podload/create4_par_over_seq"] = "CRI pod: 4 at once / 4 in sequence"
  title["stdout/throughput"] = "stdout 1 GiB, throughput"
  title["stdout/wall_per_gib"] = "stdout, wall time per GiB"
  title["stdout/shim_cpu_per_gib"] = "stdout, shim CPU per GiB"
  title["stdout/peak_rss"] = "stdout, shim peak RSS (VmHWM)"
  title["density/start_all"] = "density: start all, 8 at a time"
  title["density/started"] = "density: running at the end"
  title["density/pss_total"] = "density: total shim PSS"
  title["density/rss_total"] = "density: total shim RSS"
  title["density/pss_per_ctr"] = "density: shim PSS per container"

  title["phases/ctr_startup"] = "phases: ctr start-up (exec > first connect)"
  title["phases/containerd_before_shim"] = "phases: containerd before the shim (snapshot, metadata)"
  title["phases/shim_start_to_create"] = "phases: shim start > runtime create"
  title["phases/runtime_create"] = "phases: runtime create"
  title["phases/create_to_start"] = "phases: create done > runtime start (Create reply, ctr's Start)"
  title["phases/runtime_start"] = "phases: runtime start"
  title["phases/exit_to_delete"] = "phases: start done > runtime delete (exit, Wait, ctr's Delete)"
  title["phases/runtime_delete"] = "phases: runtime delete"
  title["phases/delete_to_shim_delete"] = "phases: delete done > shim delete (reply, Shutdown)"
  title["phases/shim_delete"] = "phases: the shim's delete subcommand"
  title["phases/after_shim_delete"] = "phases: after it (bundle, container, snapshot, ctr exit)"
  title["phases/outside_shim"] = "phases: sum of those no shim holds"
  title["phases/wall"] = "phases: wall (ctr exec > ctr exit)"
  title["phases/cpu_ctr"] = "phases: CPU of ctr"
  title["phases/cpu_containerd"] = "phases: CPU of containerd"
  title["phases/cpu_shim"] = "phases: CPU of the shim's own processes"
  title["phases/cpu_runtime"] = "phases: CPU of the runtime (and the container's true)"

  short["memory/pss_per_ctr"] = "PSS/ctr"
  short["memory/rss_per_ctr"] = "RSS/ctr"
  short["lifecycle/run_rm_true"] = "run --rm true"
  short["lifecycle/cpu_shim_runtime"] = "CPU shim+runtime"
  short["exec/exec_true"] = "exec true"
  short["stdout/throughput"] = "stdout MiB/s"
  short["stdout/shim_cpu_per_gib"] = "shim CPU/GiB"
  short["stdout/peak_rss"] = "peak RSS, 1 GiB out"
  short["density/start_all"] = "start all"
  short["density/pss_per_ctr"] = "density PSS/ctr"
}

$1 == "section" { next }
NF >= 8 {
  fig = $1 "/" $2 "/" $4 "/" $5
  if (!(fig in seen)) {
    seen[fig] = 1
    order[++nfig] = fig
    unit[fig] = $8
  }
  key = fig SUBSEP $3
  if (!(key in count)) {
    shims[fig] = shims[fig] " " $3
  }
  vals[key, ++count[key]] = $7
}

END {
  for (key in count) med[key] = median(key)

  print "| figure | runtime | containers | unit | wedge | runc.v2 | reference | wedge / runc.v2 | target | met |"
  print "|---|---|---:|---|---:|---:|---:|---:|---|---|"
  for (i = 1; i <= nfig; i++) {
    fig = order[i]
    split(fig, f, "/")
    t = (f[1] "/" f[2]) in title ? title[f[1] "/" f[2]] : f[1] " " f[2]
    ref = "-"
    nref = split(shims[fig], s, " ")
    for (j = 1; j <= nref; j++) {
      if (s[j] != "wedge" && s[j] != "runc.v2") ref = s[j] ": " cell(fig, s[j])
    }
    w = fig SUBSEP "wedge"
    r = fig SUBSEP "runc.v2"
    ratio = "-"
    rv = ""
    if ((w in med) && (r in med) && med[r] != 0) {
      rv = med[w] / med[r]
      ratio = sprintf("%.3f", rv)
    }
    tgt = fig in target ? label_target[fig] : ""
    met = ""
    if (fig in target) {
      spec = target[fig]
      if (spec ~ /^abs/) {
        limit = substr(spec, 6) + 0
        if (w in med) met = (spec ~ /<=/ ? med[w] <= limit : med[w] >= limit) ? "yes" : "**no**"
      } else if (rv != "") {
        limit = substr(spec, 8) + 0
        if (spec ~ /<=/) met = rv <= limit ? "yes" : "**no**"
        else met = rv >= limit ? "yes" : "**no**"
      }
      if (met == "") met = "n/a"
    }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, f[3], f[4], unit[fig],
      cell(fig, "wedge"), cell(fig, "runc.v2"), ref, ratio, tgt, met

    if (f[1] == "podload") podload = 1
    if (ratios != "" && rv != "" && f[1] != "phases" && f[1] != "podload" && f[2] != "shim_procs" && f[2] != "started" && f[2] != "pss_total" && f[2] != "rss_total" && f[2] != "wall_per_gib" && f[2] != "cpu_containerd" && f[2] != "cpu_ctr") {
      lab = (f[1] "/" f[2]) in short ? short[f[1] "/" f[2]] : f[2]
      if (f[1] == "memory" || f[1] == "density") lab = lab " @" f[4]
      if (f[1] == "lifecycle") lab = lab " (" f[3] ")"
      limit = "NaN"
      if ((fig in target) && target[fig] ~ /^ratio/) limit = substr(target[fig], 8) + 0
      printf "\"%s\" %.4f %s\n", lab, rv, limit > ratios
    }
  }

  # ctrd_version: `containerd --version` of the run (bench/run.sh; another one by hand with
  # WEDGE_CONTAINERD_BIN). 1.6 before 1.6.22 has containerd#8557.
  if (podload && ("podload/exec32_wall/runc/4" SUBSEP "runc.v2") in med) {
    v = ctrd_version
    if (match(v, / v?[0-9]+\.[0-9]+\.[0-9]+/)) v = substr(v, RSTART + 1, RLENGTH - 1)
    else v = "unknown"
    sub(/^v/, "", v)
    split(v, vp, ".")
    if (vp[1] == 1 && vp[2] == 6 && vp[3] < 22)
      print "\nrunc.v2 in the CRI pod rows is containerd " v "'s runc shim, not a fair reference: it holds one lock across runc exec and create and stalls on exec bursts (containerd#8557, fixed in 1.6.22)."
    else
      print "\nrunc.v2 in the CRI pod rows is containerd " v "'s runc shim."
  }

  # What no shim can go below: the phases it does not hold, over runc.v2's wall.
  for (i = 1; i <= nfig; i++) {
    fig = order[i]
    split(fig, f, "/")
    if (f[1] != "phases" || f[2] != "outside_shim") continue
    w = fig SUBSEP "wedge"
    r = "phases/wall/" f[3] "/" f[4] SUBSEP "runc.v2"
    if (!((w in med) && (r in med) && med[r] != 0)) continue
    printf "\nWith %s, the phases no shim holds take %s ms (wedge's runs, median) of runc.v2's wall of %s ms: no shim can go below %.3f (the other phases also hold containerd's and ctr's side of each call, so the real floor is higher).\n", f[3], num(med[w]), num(med[r]), med[w] / med[r]
    c = "phases/cpu_shim/" f[3] "/" f[4] SUBSEP "wedge"
    ww = "phases/wall/" f[3] "/" f[4] SUBSEP "wedge"
    if ((c in med) && (ww in med))
      printf "wedge's own processes use %s ms of CPU per run: were that zero, wedge's %s ms would be at best %s ms, %.3f of runc.v2's.\n", num(med[c]), num(med[ww]), num(med[ww] - med[c]), (med[ww] - med[c]) / med[r]
  }

  if (memory != "") {
    printf "# containers wedge runc.v2 conmon (median PSS KiB per container)\n" > memory
    for (i = 1; i <= nfig; i++) {
      fig = order[i]
      split(fig, f, "/")
      if (!(f[1] == "memory" && f[2] == "pss_per_ctr") && !(f[1] == "density" && f[2] == "pss_per_ctr")) continue
      printf "%s", f[4] > memory
      n = split("wedge runc.v2 conmon", s, " ")
      for (j = 1; j <= n; j++) {
        key = fig SUBSEP s[j]
        printf " %s", ((key in med) ? med[key] : "NaN") > memory
      }
      printf "\n" > memory
    }
  }
}
