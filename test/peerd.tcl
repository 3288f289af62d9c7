# test/peerd.tcl --
#
#	The peer helper: a small server run by the *native* tclsh, so that
#	tests running under Wine can start and drive native peers (openssl
#	s_server/s_client, curl, gnutls-cli, python3) on this machine.
#	It listens on 127.0.0.1 (port chosen by the system, written to the
#	file named on the command line) and serves one request per line, a
#	Tcl list; each reply is one line, a Tcl list {ok RESULT} or
#	{error MESSAGE}. Binary data travels base64-encoded.
#
#	Requests:
#	  freeport                    a free TCP port on 127.0.0.1
#	  spawn ARGV                  start a process (stdin/stdout pipes,
#	                              stderr merged); returns an id
#	  send ID B64                 write to its stdin
#	  closein ID                  close its stdin
#	  output ID                   {B64 eof?} of all output so far
#	  waitfor ID REGEXP MS        wait until the output matches:
#	                              {matched|eof|timeout B64}
#	  wait ID MS                  wait for exit: {exitcode|timeout B64}
#	  sendfile ID PATH            copy a file to its stdin (in the
#	                              background, for large payloads)
#	  waitsum ID MARKER LEN MS    wait until LEN bytes of output from the
#	                              first MARKER on are there (the marker
#	                              must come within the first MiB):
#	                              {matched|eof|timeout {LENGTH CRC32}}
#	                              of those bytes (fewer on eof/timeout)
#	  kill ID                     kill the process and forget it
#	  killall                     kill every process started
#	  procinfo MARKER ?ENVENTRY?  processes of this machine whose command
#	                              line contains MARKER (and, if given,
#	                              whose environment holds ENVENTRY, e.g.
#	                              WINEPREFIX=/path): a list of
#	                              {pid rss_kib cpu_ticks name}, cpu =
#	                              utime + stime, name from /proc/PID/comm
#	                              (tclsh86.exe for Wine's tclsh, not the
#	                              wrappers such as timeout); for
#	                              benchmarks of Wine processes
#	  clktck                      clock ticks per second (for cpu_ticks)
#
#	Usage: tclsh peerd.tcl PORTFILE

set portFile [lindex $argv 0]
set nextId 0
array set procs {}	;# id -> dict chan pid out eof exit

proc reply {client status result} {
    puts $client [list $status $result]
    flush $client
}

proc b64 {data} { binary encode base64 $data }

proc readOutput {id} {
    global procs
    set chan [dict get $procs($id) chan]
    set data [read $chan]
    dict append procs($id) out $data
    # Byte count kept apart: the output is binary, and counting the
    # characters of a large string again on every read would be slow.
    dict incr procs($id) count [string length $data]
    if {[eof $chan]} {
        fconfigure $chan -blocking 1
        set code 0
        if {[catch {close $chan} msg opts]} {
            set ec [dict get $opts -errorcode]
            set code [expr {[lindex $ec 0] eq "CHILDSTATUS" ? [lindex $ec 2] : 1}]
        }
        dict set procs($id) eof 1
        dict set procs($id) exit $code
    }
    checkWaiters $id
}

# Waiters: pending waitfor/wait requests, checked when output arrives.
set waiters {}

proc checkWaiters {id} {
    global waiters procs
    set keep {}
    foreach w $waiters {
        lassign $w wid client kind arg timer
        if {$wid ne $id} { lappend keep $w; continue }
        set p $procs($id)
        if {$kind eq "waitsum"} {
            set sum [sumState $id $arg]
            if {$sum ne "" || [dict get $p eof]} {
                after cancel $timer
                reply $client ok [list [expr {$sum ne "" ? "matched" : "eof"}] \
                    [sumOf $id $arg]]
            } else {
                lappend keep $w
            }
        } elseif {$kind eq "waitfor" && [regexp -- $arg [dict get $p out]]} {
            after cancel $timer
            reply $client ok [list matched [b64 [dict get $p out]]]
        } elseif {[dict get $p eof]} {
            after cancel $timer
            if {$kind eq "wait"} {
                reply $client ok [list [dict get $p exit] [b64 [dict get $p out]]]
            } else {
                reply $client ok [list eof [b64 [dict get $p out]]]
            }
        } else {
            lappend keep $w
        }
    }
    set waiters $keep
}

# sumState ID {MARKER LEN}: "" until LEN bytes from the marker on have
# arrived, else 1. Remembers where the marker was found.
proc sumState {id spec} {
    global procs
    lassign $spec marker len
    if {![dict exists $procs($id) mark]} {
        set at [string first $marker [string range [dict get $procs($id) out] 0 1048575]]
        if {$at < 0} { return "" }
        dict set procs($id) mark $at
    }
    if {[dict get $procs($id) count] - [dict get $procs($id) mark] < $len} { return "" }
    return 1
}

# sumOf ID {MARKER LEN}: {length crc32} of up to LEN bytes from the marker.
proc sumOf {id spec} {
    global procs
    lassign $spec marker len
    sumState $id $spec
    if {![dict exists $procs($id) mark]} { return {0 0} }
    set at [dict get $procs($id) mark]
    set data [string range [dict get $procs($id) out] $at [expr {$at + $len - 1}]]
    return [list [string length $data] [zlib crc32 $data]]
}

proc timeoutWaiter {id client kind} {
    global waiters procs
    set keep {}
    foreach w $waiters {
        lassign $w wid wclient wkind warg
        if {$wid eq $id && $wclient eq $client && $wkind eq $kind} {
            if {$kind eq "waitsum"} {
                reply $client ok [list timeout [sumOf $id $warg]]
                continue
            }
            reply $client ok [list timeout [b64 [dict get $procs($id) out]]]
        } else {
            lappend keep $w
        }
    }
    set waiters $keep
}

proc killProc {id} {
    global procs
    if {![info exists procs($id)]} return
    set p $procs($id)
    if {![dict get $p eof]} {
        foreach pid [dict get $p pid] { catch {exec kill -9 $pid} }
        catch {fileevent [dict get $p chan] readable {}}
        catch {close [dict get $p chan]}
    }
    unset procs($id)
}

# procInfo: {pid rss_kib cpu_ticks name} of the processes whose command line
# contains marker (Wine processes show their Windows command line there)
# and whose environment has envEntry when it is not empty.
proc procInfo {marker envEntry} {
    set found {}
    foreach dir [glob -nocomplain -directory /proc {[0-9]*}] {
        set pid [file tail $dir]
        if {$pid == [pid]} continue
        # Processes may end while we look: skip what cannot be read.
        if {[catch {
            set cmd [string map {\0 " "} [readFile $dir/cmdline]]
            if {[string first $marker $cmd] < 0} continue
            if {$envEntry ne "" &&
                $envEntry ni [split [readFile $dir/environ] \0]} continue
            regexp -line {^VmRSS:\s+(\d+)} [readFile $dir/status] -> rss
            # Fields after the ")" of the command name: utime, stime are
            # fields 14 and 15 of stat, 12 and 13 after the name.
            set stat [readFile $dir/stat]
            set rest [string range $stat [string last ")" $stat]+2 end]
            set cpu [expr {[lindex $rest 11] + [lindex $rest 12]}]
            lappend found [list $pid $rss $cpu [string trim [readFile $dir/comm]]]
        }]} continue
    }
    return $found
}
proc readFile {path} {
    set f [open $path rb]
    set data [read $f]
    close $f
    return $data
}

proc handle {client line} {
    global procs nextId waiters
    set args [lassign $line cmd]
    switch -- $cmd {
        freeport {
            set s [socket -server {apply {args {}}} -myaddr 127.0.0.1 0]
            set port [lindex [fconfigure $s -sockname] 2]
            close $s
            reply $client ok $port
        }
        spawn {
            set argv0 [lindex $args 0]
            set chan [open |[list {*}$argv0 2>@1] r+]
            fconfigure $chan -blocking 0 -translation binary -buffering none \
                -buffersize 1048576
            set id p[incr nextId]
            set procs($id) [dict create chan $chan pid [pid $chan] out "" count 0 \
                                eof 0 exit ""]
            fileevent $chan readable [list readOutput $id]
            reply $client ok $id
        }
        send {
            lassign $args id data
            set chan [dict get $procs($id) chan]
            puts -nonewline $chan [binary decode base64 $data]
            flush $chan
            reply $client ok ""
        }
        sendfile {
            lassign $args id path
            set f [open $path rb]
            fcopy $f [dict get $procs($id) chan] -command [list apply {{f args} {close $f}} $f]
            reply $client ok ""
        }
        waitsum {
            lassign $args id marker len ms
            set timer [after $ms [list timeoutWaiter $id $client waitsum]]
            lappend waiters [list $id $client waitsum [list $marker $len] $timer]
            checkWaiters $id
        }
        closein {
            lassign $args id
            catch {chan close [dict get $procs($id) chan] write}
            reply $client ok ""
        }
        output {
            lassign $args id
            reply $client ok [list [b64 [dict get $procs($id) out]] [dict get $procs($id) eof]]
        }
        waitfor - wait {
            lassign $args id arg ms
            if {$cmd eq "wait"} { set ms $arg; set arg "" }
            set timer [after $ms [list timeoutWaiter $id $client $cmd]]
            lappend waiters [list $id $client $cmd $arg $timer]
            checkWaiters $id
        }
        kill {
            killProc [lindex $args 0]
            reply $client ok ""
        }
        killall {
            foreach id [array names procs] { killProc $id }
            reply $client ok ""
        }
        procinfo {
            lassign $args marker envEntry
            reply $client ok [procInfo $marker $envEntry]
        }
        clktck {
            reply $client ok [exec getconf CLK_TCK]
        }
        default {
            reply $client error "unknown request \"$cmd\""
        }
    }
}

proc serve {client} {
    if {[catch {gets $client line} n] || $n < 0} {
        if {[eof $client]} { close $client }
        return
    }
    if {[catch {handle $client $line} msg]} {
        catch {reply $client error $msg}
    }
}

proc accept {client addr port} {
    fconfigure $client -buffering line -translation lf
    fileevent $client readable [list serve $client]
}

set listener [socket -server accept -myaddr 127.0.0.1 0]
set f [open $portFile.tmp w]
puts $f [lindex [fconfigure $listener -sockname] 2]
close $f
file rename -force $portFile.tmp $portFile
# Exit when the parent goes away (stdin closes) or on request.
fileevent stdin readable {
    if {[gets stdin line] < 0} {
        foreach id [array names procs] { killProc $id }
        exit 0
    }
}
vwait forever
