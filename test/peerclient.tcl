# test/peerclient.tcl --
#
#	Client of the peer helper (peerd.tcl), for scripts running under Wine
#	that need native peers: openssl s_server/s_client, curl, python3.
#	Needs SCHANNEL_PEERD (the helper's port) in the environment, and
#	certfile (path of a test certificate) defined by the caller.

if {![info exists ::waitLimit]} { set ::waitLimit 20000 }

# Calls run the event loop while they wait, so product servers in this
# process keep serving.
namespace eval peer {
    variable sock {}
    variable replies {}
}

proc peer::connect {} {
    variable sock
    if {$sock ne ""} return
    if {![info exists ::env(SCHANNEL_PEERD)]} {
        error "SCHANNEL_PEERD is not set: run the tests with 'make test'"
    }
    set sock [socket 127.0.0.1 $::env(SCHANNEL_PEERD)]
    fconfigure $sock -buffering line -translation lf -blocking 0
    fileevent $sock readable [namespace code onReply]
}

proc peer::onReply {} {
    variable sock
    variable replies
    if {[gets $sock line] >= 0} {
        lappend replies $line
    } elseif {[eof $sock]} {
        lappend replies [list error "peer helper closed the connection"]
        close $sock
        set sock {}
    }
}

# peer::call REQUEST...: sends one request, returns its result.
proc peer::call {args} {
    variable sock
    variable replies
    connect
    puts $sock $args
    while {[llength $replies] == 0} {
        vwait [namespace current]::replies
    }
    set replies [lassign $replies reply]
    lassign $reply status result
    if {$status ne "ok"} { error "peer helper: $result" }
    return $result
}

proc peer::freeport {} { call freeport }
proc peer::spawn {args} { call spawn $args }
proc peer::send {id data} { call send $id [binary encode base64 $data] }
proc peer::closein {id} { call closein $id }
proc peer::kill {id} { call kill $id }
proc peer::output {id} {
    lassign [call output $id] data eof
    return [binary decode base64 $data]
}
# peer::waitfor ID REGEXP ?MS?: the output once it matches; error if the
# process ends or the time runs out first.
proc peer::waitfor {id re {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    lassign [call waitfor $id $re $ms] how data
    set out [binary decode base64 $data]
    if {$how ne "matched"} {
        error "peer output did not match \"$re\" ($how): $out"
    }
    return $out
}
# peer::wait ID ?MS?: {exitcode output} once the process ended.
proc peer::wait {id {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    lassign [call wait $id $ms] code data
    return [list $code [binary decode base64 $data]]
}

# openssl s_server on a free port; returns {id port}. Extra options are
# appended (e.g. -www, -Verify 1 -CAfile ...).
proc peer::s_server {args} {
    for {set try 0} {$try < 5} {incr try} {
        set port [freeport]
        set id [spawn openssl s_server -accept 127.0.0.1:$port \
            -cert [certfile server.pem] -key [certfile server.key] {*}$args]
        if {![catch {waitfor $id {ACCEPT}}]} {
            return [list $id $port]
        }
        kill $id
    }
    error "could not start openssl s_server"
}


# peer::sendfile ID PATH: the peer helper copies the file (a path relative
# to the project directory) to the process's stdin in the background.
proc peer::sendfile {id path} { call sendfile $id $path }
# peer::waitsum ID MARKER LEN ?MS?: {length crc32} of LEN bytes of the
# process's output from the first MARKER on, once they are all there
# (fewer when the process ends or the time runs out first).
proc peer::waitsum {id marker len {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    lassign [call waitsum $id $marker $len $ms] how sum
    return $sum
}
