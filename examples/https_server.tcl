# examples/https_server.tcl --
#
#	A small HTTPS file server on schannel: answers GET and HEAD for the
#	files of one directory (no subdirectories), one request per
#	connection (HTTP/1.1 with "Connection: close").
#
#	Usage: tclsh https_server.tcl ?-port N? ?-root DIR? ?-pfx FILE? ?-password PW?
#	  -port      port on 127.0.0.1 (default 8443; 0 picks a free one)
#	  -root      directory whose files are served (default: current one)
#	  -pfx       PFX file with certificate and RSA key
#	             (default build/test-certs/server.pfx, made by `make test`)
#	Prints "listening on https://localhost:PORT/" once ready. Stops when
#	its standard input ends (under Wine, a Windows Tcl does not see the
#	end of a Linux pipe: kill it there). Try:
#	curl --cacert ca.pem https://localhost:PORT/FILE

set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel
namespace import schannel::*

set opts [dict create -port 8443 -root . -pfx build/test-certs/server.pfx -password ""]
foreach {name value} $argv {
    if {![dict exists $opts $name]} { error "unknown option $name" }
    dict set opts $name $value
}
set root [dict get $opts -root]

set f [open [dict get $opts -pfx] rb]
set store [cert_temporary_store -pfx [read $f] -password [dict get $opts -password]]
close $f
set cert [cert_store_find_certificate $store any]
set creds [sspi_acquire_credentials -role server \
               -credentials [sspi_schannel_credentials -certificates [list $cert]]]
cert_release $cert
cert_store_release $store

# Called once a client completed the TLS handshake: read the request.
proc accept {chan addr port} {
    fconfigure $chan -blocking 0 -translation {auto crlf}
    set ::request($chan) {}
    fileevent $chan readable [list readRequest $chan]
}

# Collects the request line and headers; answers after the empty line.
proc readRequest {chan} {
    while {[gets $chan line] >= 0} {
        if {$line ne ""} {
            lappend ::request($chan) $line
            continue
        }
        fileevent $chan readable {}
        respond $chan [lindex $::request($chan) 0]
        unset ::request($chan)
        return
    }
    if {[eof $chan]} {
        unset ::request($chan)
        close $chan
    }
}

# Sends the file the request line names, or an error status.
proc respond {chan requestLine} {
    lassign $requestLine method path
    set name [file tail [lindex [split $path ?] 0]]
    set file [file join $::root $name]
    if {$method ni {GET HEAD}} {
        return [reply $chan "405 Method Not Allowed" "only GET and HEAD\n"]
    }
    if {$name eq "" || ![file isfile $file]} {
        return [reply $chan "404 Not Found" "no such file: $path\n"]
    }
    puts $chan "HTTP/1.1 200 OK\nContent-Type: application/octet-stream"
    puts $chan "Content-Length: [file size $file]\nConnection: close\n"
    if {$method eq "HEAD"} {
        return [finish $chan]
    }
    set in [open $file rb]
    fconfigure $chan -translation binary
    fcopy $in $chan -command [list copied $in $chan]
}

# A short text response, then close.
proc reply {chan status body} {
    puts $chan "HTTP/1.1 $status\nContent-Type: text/plain"
    puts $chan "Content-Length: [string length $body]\nConnection: close\n"
    puts -nonewline $chan $body
    finish $chan
}

# fcopy is done (or failed): close the file and the connection.
proc copied {in chan bytes {error ""}} {
    close $in
    if {$error ne ""} { puts "send failed: $error" }
    finish $chan
}

# Closes once everything queued is sent (the channel is non-blocking).
proc finish {chan} {
    fconfigure $chan -blocking 1
    catch {close $chan}
}

proc schannel::tls_background_error {msg opts} {
    puts "handshake failed: $msg"
}

set listener [tls_socket -server accept -credentials $creds \
                  -myaddr 127.0.0.1 [dict get $opts -port]]
puts "listening on https://localhost:[lindex [fconfigure $listener -sockname] 2]/"
flush stdout
fileevent stdin readable {
    if {[gets stdin line] < 0 && [eof stdin]} { set done 1 }
}
vwait done
close $listener
sspi_free_credentials $creds
