# test/all.tcl --
#
#	Runs every test/*.test file (or those named on the command line) in
#	its own tclsh process under Wine, shows each file's output, and ends
#	with one line "N passed, N failed, N skipped" summed over all files.
#	A file that does not finish (crash, error, timeout), or whose process
#	ends abnormally after its summary (a crash at exit), counts as one
#	failed test; the exit code is 1 when anything failed.

set testDir [file dirname [file normalize [info script]]]
set files [lsort [glob -directory $testDir *.test]]
if {[llength $argv]} {
    set files [lmap f $argv {file join $testDir [file tail $f]}]
}
# Per-file limit (ms): a hung file is killed and counted as failed.
set fileLimit [expr {[info exists env(SCHANNEL_FILE_LIMIT)] ? $env(SCHANNEL_FILE_LIMIT) : 600000}]
set totals [dict create passed 0 failed 0 skipped 0]
set badFiles {}

proc runFile {path} {
    global fileLimit
    # tcltest's "start" lines are not shown, but the last one is kept, so
    # a file that has to be killed names the test it was stuck in.
    set chan [open |[list [info nameofexecutable] $path -verbose {body error start} 2>@1] r]
    set ::current($path) ""
    set ::partial($path) ""
    fconfigure $chan -blocking 0 -translation auto
    set ::output($path) ""
    unset -nocomplain ::done($path)
    fileevent $chan readable [list collect $chan $path]
    set timer [after $fileLimit [list timeout $chan $path]]
    vwait ::done($path)
    after cancel $timer
    return [list $::done($path) $::output($path)]
}

proc collect {chan path} {
    set data [read $chan]
    # Whole lines only; a partial last line waits for the rest.
    set lines [split $::partial($path)$data \n]
    set ::partial($path) [lindex $lines end]
    if {[eof $chan]} {
        set ::partial($path) ""
    } else {
        set lines [lrange $lines 0 end-1]
    }
    foreach line $lines {
        if {[regexp {^---- (\S+) start$} $line -> test]} {
            set ::current($path) $test
        } else {
            puts $line
        }
    }
    flush stdout
    append ::output($path) $data
    if {[eof $chan]} {
        fconfigure $chan -blocking 1
        set status ok
        if {[catch {close $chan} msg]} { set status "exited with error: $msg" }
        set ::done($path) $status
    }
}

proc timeout {chan path} {
    foreach pid [pid $chan] { catch {exec taskkill /F /PID $pid} }
    catch {close $chan}
    set ::done($path) "killed after [expr {$::fileLimit / 1000}] s,\
        in test $::current($path)"
}

foreach path $files {
    set name [file tail $path]
    puts "==== $name"
    flush stdout
    lassign [runFile $path] status fileOutput
    if {[regexp -line "^$name:\\s+Total\\s+(\\d+)\\s+Passed\\s+(\\d+)\\s+Skipped\\s+(\\d+)\\s+Failed\\s+(\\d+)" \
            $fileOutput -> total passed skipped failed]} {
        dict incr totals passed $passed
        dict incr totals failed $failed
        dict incr totals skipped $skipped
        if {$failed > 0} { lappend badFiles $name }
        if {$status ne "ok"} {
            # E.g. a crash while the interpreter is torn down at exit.
            puts "==== $name ended abnormally after its tests ($status)"
            if {$name ni $badFiles} { lappend badFiles $name }
            dict incr totals failed 1
        }
    } else {
        puts "==== $name did not complete ($status)"
        lappend badFiles $name
        dict incr totals failed 1
    }
}
puts ""
if {[llength $badFiles]} { puts "Files with failures: $badFiles" }
puts "[dict get $totals passed] passed, [dict get $totals failed] failed, [dict get $totals skipped] skipped"
exit [expr {[llength $badFiles] > 0}]
