# test/bench/lib.tcl --
#
#	Shared parts of the benchmarks (sourced by bench.tcl): repetitions and
#	their statistics, the result table and results.json, the benchmark
#	servers in their own Wine processes, and process figures (resident
#	memory, CPU time) read natively from /proc through the peer helper,
#	because a Wine process cannot see its own Linux figures.

# stats-of VALUES: {median min max}.
proc stats-of {values} {
    set v [lsort -real $values]
    return [list [lindex $v [expr {[llength $v] / 2}]] [lindex $v 0] [lindex $v end]]
}

# repeat N SCRIPT: {median min max} of N runs of SCRIPT (in the caller).
# A run that fails (e.g. a transfer cut short by a spurious EOF under
# Wine) is noted in the results and run again, up to 3 times a series.
proc repeat {n script} {
    set out {}
    set failures 0
    for {set i 0} {$i < $n} {incr i} {
        progress "start [string trim $script] #$i"
        if {[catch {uplevel 1 $script} value]} {
            note "failed, run again: [string trim $script]: $value"
            if {[incr failures] > 3} { error "too many failures: $value" }
            incr i -1
            continue
        }
        lappend out $value
        progress "  -> $value"
    }
    return [stats-of $out]
}

# progress TEXT: a time-stamped line in build/bench/progress.log, to see
# where a run is (or where it hung) without cluttering the table.
proc progress {text} {
    if {![info exists ::progressLog]} {
        file mkdir build/bench
        set ::progressLog [open build/bench/progress.log w]
        fconfigure $::progressLog -buffering line
    }
    puts $::progressLog "[clock format [clock seconds] -format %T] $text"
}

# report NAME UNIT FIGURE BASENAME BASELINE: one table line and one
# results.json object. FIGURE and BASELINE are {median min max}; the
# ratio is figure / baseline (medians).
proc report {name unit figure baseName baseline} {
    lassign $figure med lo hi
    lassign $baseline bmed blo bhi
    set ratio [expr {$bmed == 0 ? 0.0 : double($med) / $bmed}]
    puts [format "%-46s %9.2f %-7s (%.2f-%.2f)  vs %-24s %9.2f (%.2f-%.2f)  ratio %.2f" \
              $name $med $unit $lo $hi $baseName $bmed $blo $bhi $ratio]
    flush stdout
    lappend ::results [dict create name $name unit $unit median $med min $lo max $hi \
        baseline_name $baseName baseline_median $bmed baseline_min $blo \
        baseline_max $bhi ratio $ratio]
}

# note TEXT: a line of the table that is not a figure (counts, limits);
# it goes into results.json as well.
proc note {text} {
    puts "  $text"
    flush stdout
    lappend ::notes $text
}

# json-string S: S as a JSON string literal.
proc json-string {s} {
    return "\"[string map {\\ \\\\ \" \\\" \n \\n \r \\r \t \\t} $s]\""
}

# json-dict D: a flat dict as a JSON object (numbers stay numbers).
proc json-dict {d} {
    set fields {}
    dict for {k v} $d {
        if {[string is double -strict $v] && ![string match -nocase *n* $v]} {
            lappend fields "[json-string $k]: [format %.6g $v]"
        } else {
            lappend fields "[json-string $k]: [json-string $v]"
        }
    }
    return "{[join $fields {, }]}"
}

# write-results FILE: machine info, the figures and the notes as JSON.
proc write-results {file} {
    set objs {}
    foreach r $::results { lappend objs "    [json-dict $r]" }
    set notes {}
    foreach n $::notes { lappend notes "    [json-string $n]" }
    set json "\{\n  \"machine\": [json-dict $::machine],\n"
    append json "  \"results\": \[\n[join $objs ,\n]\n  \],\n"
    append json "  \"notes\": \[\n[join $notes ,\n]\n  \]\n\}\n"
    file mkdir [file dirname $file]
    set f [open $file w]
    puts -nonewline $f $json
    close $f
}

# machine-info: cores, CPU model, Wine version, date, load average;
# run-bench.sh passes what only the Linux side knows in BENCH_* variables.
proc machine-info {} {
    set d [dict create date [clock format [clock seconds] -format "%Y-%m-%d %H:%M" -gmt 1]]
    foreach {key var} {cpu BENCH_CPU cores BENCH_CORES wine BENCH_WINE os BENCH_OS
            load BENCH_LOAD} {
        dict set d $key [expr {[info exists ::env($var)] ? $::env($var) : "unknown"}]
    }
    return $d
}

# start-server MODE: a benchmark server (peer_server.tcl) in a new Wine
# process; returns {pipe port marker}. The marker is a unique argument
# that finds the process in /proc (procinfo).
proc start-server {mode} {
    progress "starting a $mode server"
    set marker bench-[pid]-[incr ::serverCount]-$mode
    set ch [open |[list [info nameofexecutable] test/bench/peer_server.tcl $mode $marker] r+]
    fconfigure $ch -buffering line
    gets $ch port
    return [list $ch $port $marker]
}

# stop-server PIPE: closes its stdin (it exits) and waits for it.
proc stop-server {ch} {
    progress "stopping a server"
    catch {close $ch}
}

# server-stats PIPE: schannel::stats of the server process (tls mode).
proc server-stats {ch} {
    puts $ch STATS
    gets $ch line
    return $line
}

# proc-info MARKER: {rss_kib cpu_ticks} of the one Wine process (Windows
# name *.exe) whose command line holds MARKER.
proc proc-info {marker} {
    set found {}
    foreach p [peer::call procinfo $marker] {
        lassign $p pid rss cpu name
        if {[string match *.exe $name]} { lappend found [list $rss $cpu] }
    }
    if {[llength $found] != 1} {
        error "[llength $found] Wine processes with \"$marker\" in their command line"
    }
    return [lindex $found 0]
}

# cpu-ticks MARKERS: utime+stime ticks of the Wine processes named by
# MARKERS plus the wineserver of this prefix (it does part of the socket
# work of every Wine process).
proc cpu-ticks {markers} {
    set total 0
    foreach m $markers { incr total [lindex [proc-info $m] 1] }
    if {[info exists ::env(WINEPREFIX)]} {
        foreach p [peer::call procinfo wineserver WINEPREFIX=$::env(WINEPREFIX)] {
            incr total [lindex $p 2]
        }
    }
    return $total
}
