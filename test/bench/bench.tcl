# test/bench/bench.tcl --
#
#	Benchmarks (run by `make bench`, under Wine, through ci/run-bench.sh).
#	Every figure is printed next to a baseline measured in the same run,
#	as a ratio, because these machines are noisy: median of BENCH_REPS
#	(default 5) repetitions, with min and max. The parts:
#	  bulk.tcl         1. bulk TLS vs plain, 6. CPU per GiB,
#	                   2. against native openssl s_server / s_client
#	  handshake.tcl    3. handshakes/s vs plain connects/s
#	  concurrency.tcl  4. N concurrent clients, 5. memory per idle
#	                   connection, buffer_bytes per idle channel
#	  engine.tcl       7. the TLS engine alone, in memory (engine_bench.exe)
#	Writes build/bench/results.json. Needs the peer helper (SCHANNEL_PEERD)
#	and BENCH_MARKER, a unique word on this process's command line.

set topDir [file dirname [file dirname [file dirname [file normalize [info script]]]]]
# BENCH_LIB: another build's lib directory, to compare two builds.
set auto_path [linsert $auto_path 0 [expr {[info exists env(BENCH_LIB)]
    ? $env(BENCH_LIB) : [file join $topDir build lib]}]]
package require schannel
namespace import schannel::*
proc certfile {name} { return build/test-certs/$name }
source [file join $topDir test peerclient.tcl]
foreach part {lib bulk handshake concurrency engine} {
    source [file join $topDir test bench $part.tcl]
}

proc env-or {name default} {
    return [expr {[info exists ::env($name)] ? $::env($name) : $default}]
}
set reps [env-or BENCH_REPS 5]
set handshakes [env-or BENCH_HANDSHAKES 200]
set clients [env-or BENCH_CLIENTS 500]
set only [env-or BENCH_ONLY {bulk native handshake concurrency engine}]
set bulkSize [expr {64 * 1024 * 1024}]
set results {}
set notes {}
set machine [machine-info]
set clkTck [peer::call clktck]
set f [open build/bench/data.bin rb]
set echoBlock [read $f 65536]
close $f

puts "schannel benchmarks, [dict get $machine date] UTC"
puts "machine: [dict get $machine cpu], [dict get $machine cores] cores,\
      [dict get $machine wine], [dict get $machine os],\
      load average [dict get $machine load]"
puts "$reps repetitions: median (min-max) vs baseline median (min-max), ratio of medians\n"

# timed PART SCRIPT: runs SCRIPT if PART is wanted; notes how long it
# took, so that the 5-minute budget can be checked part by part.
proc timed {part script} {
    if {$part ni $::only} return
    set t0 [clock seconds]
    uplevel 1 $script
    lappend ::partTimes "$part [expr {[clock seconds] - $t0}] s"
}
set partTimes {}

# One TLS benchmark server for the bulk, native and handshake parts.
lassign [start-server tls] tlsCh tlsPort tlsMarker
timed bulk { bulk-figures $tlsPort $tlsMarker }
timed native { native-figures $tlsPort }
timed handshake { handshake-figures $tlsPort }
stop-server $tlsCh
timed concurrency { conc-figures $clients }
timed engine { engine-figures }
note "time per part: [join $partTimes {, }]"

write-results build/bench/results.json
puts "\nwrote build/bench/results.json"
