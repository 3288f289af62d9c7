# test/bench/engine.tcl --
#
#	7. The TLS engine alone (sourced by bench.tcl): engine_bench.exe
#	(built by make bench from engine_bench.c and src/engine.c) moves
#	64 MiB between a client and a server engine in memory, without
#	sockets or Tcl. Its MiB/s is the floor Schannel itself puts under
#	any TLS channel; the baseline is plain memory copies of the same
#	bytes in the same process.

# engine-run: one run of engine_bench.exe, as a dict of its output.
proc engine-run {} {
    set exe [file join $::topDir build bench engine_bench.exe]
    set out [exec $exe [certfile server.pfx] 64 65536]
    return [dict create rate [dict get $out rate] \
                handshake [dict get $out handshake_ms] \
                memcpy [dict get $out memcpy_rate]]
}

proc engine-figures {} {
    set rates {}; set handshakes {}; set copies {}
    for {set i 0} {$i < $::reps} {incr i} {
        set r [engine-run]
        lappend rates [dict get $r rate]
        lappend handshakes [dict get $r handshake]
        lappend copies [dict get $r memcpy]
    }
    report "engine only: encrypt+decrypt in memory" MiB/s [stats-of $rates] \
        "memcpy twice" [stats-of $copies]
    set hs [stats-of $handshakes]
    note "engine only: one handshake, both sides in memory: [lindex $hs 0] ms\
          (median; [lindex $hs 1]-[lindex $hs 2])"
}
