# Four panels from monte_carlo_pi_demo's data file.
#   gnuplot -e "datafile='monte_carlo_pi.dat'; outfile='monte_carlo_pi.png'; cpus=2" plot_monte_carlo.gp
# index 0: samples estimate seq_s manta_s speedup seq_samples_per_s manta_samples_per_s
# index 1: samples estimate abs_error inv_sqrt_n

if (!exists("datafile")) datafile = 'monte_carlo_pi.dat'
if (!exists("outfile")) outfile = 'monte_carlo_pi.png'
if (!exists("cpus")) cpus = 0

set terminal pngcairo size 1400,1000 enhanced font 'DejaVu Sans,11'
set output outfile
set multiplot layout 2,2 title sprintf("Monte Carlo estimation of {/Symbol p}: sequential C++ vs Manta tasks (%g CPUs)", cpus) font ',14'
set grid
set key top right
set format x '10^{%L}'
set logscale x
# room left and right so that the first and last points show whole
set offsets graph 0.04, graph 0.04, 0, 0

# (1) the estimate closes in on pi
set title 'Estimate vs samples'
set xlabel 'samples n'
set ylabel 'estimate of {/Symbol p}'
set format y '%.3f'
sigma(n) = sqrt(pi * (4 - pi) / n)
plot datafile index 1 using 1:2 with linespoints pt 7 lw 2 title 'Manta estimate', \
     pi with lines dt 2 lw 2 lc rgb 'black' title '{/Symbol p}', \
     '' index 1 using 1:(pi + sigma($1)):(pi - sigma($1)) with filledcurves \
        fs transparent solid 0.15 noborder lc rgb 'gray40' title '{/Symbol p} {/Symbol \261} one {/Symbol s}'

# (2) the error shrinks like 1/sqrt(n)
set title 'Absolute error vs samples (log-log)'
set logscale y
set ylabel '|estimate - {/Symbol p}|'
set format y '10^{%L}'
set key bottom left
plot datafile index 1 using 1:3 with linespoints pt 7 lw 2 title '|error|', \
     '' index 1 using 1:4 with lines dt 2 lw 2 title '1/{/Symbol \326}n', \
     '' index 1 using 1:(sqrt(pi * (4 - pi)) * $4) with lines dt 3 lw 2 title 'one {/Symbol s} = 1.64/{/Symbol \326}n'

# (3) wall time, best of several runs
set title 'Time vs samples (log-log, best of runs)'
set ylabel 'time [ms]'
set key top left
plot datafile index 0 using 1:($3 * 1e3) with linespoints pt 7 lw 2 title 'sequential C++', \
     '' index 0 using 1:($4 * 1e3) with linespoints pt 5 lw 2 title 'Manta tasks'

# (4) throughput
set title 'Throughput vs samples'
unset logscale y
set format y '%g'
set ylabel 'million samples / s'
set yrange [0:*]
set offsets graph 0.04, graph 0.04, graph 0.12, 0   # room for the speedup labels
set key top left
plot datafile index 0 using 1:($6 / 1e6) with linespoints pt 7 lw 2 title 'sequential C++', \
     '' index 0 using 1:($7 / 1e6) with linespoints pt 5 lw 2 title 'Manta tasks', \
     '' index 0 using 1:($7 / 1e6):(sprintf('%.2fx', $5)) with labels offset 0,1 notitle

unset multiplot
