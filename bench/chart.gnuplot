# bench/chart.gnuplot: the chart of one bench run (docs/performance.md shows it).
#   gnuplot -e "ratios='R.dat'; memory='M.dat'; out='X.png'; subtitle='...'" bench/chart.gnuplot
# Left: shim PSS per idle container against the number of containers (log scale).
# Right: wedge / runc.v2 for each figure (log scale; below 1 is better except throughput),
# with the issue's target as a cross.
set terminal pngcairo size 1400,600 font "sans,10"
set output out
set multiplot layout 1,2 title "wedge vs containerd-shim-runc-v2 (".subtitle.")"

set title "Shim PSS per idle container"
set xlabel "containers"
set ylabel "KiB per container (median)"
set logscale xy
set grid
set key top right
plot memory using 1:2 with linespoints lw 2 pt 7 title "wedge", \
     memory using 1:3 with linespoints lw 2 pt 5 title "runc.v2", \
     memory using 1:4 with linespoints lw 2 pt 9 title "conmon (reference)"

unset logscale
set title "wedge / runc.v2 (median of the runs)"
set xlabel ""
set ylabel "ratio (log scale)"
set logscale y
set yrange [0.01:10]
set xtics rotate by -35 left noenhanced
set bmargin 9
set rmargin 14
set style fill solid 0.6
set boxwidth 0.6
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot ratios using 0:2:xtic(1) with boxes title "wedge / runc.v2", \
     ratios using 0:3 with points pt 2 ps 2 lw 2 title "target"
unset multiplot
