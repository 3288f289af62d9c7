# examples/smtp_starttls.tcl --
#
#	An SMTP client that upgrades its plaintext connection with STARTTLS
#	(RFC 3207): greeting, EHLO, STARTTLS, then `starttls` turns the same
#	channel into a TLS channel, verified against the Windows certificate
#	stores and the server's name; EHLO again over TLS, then QUIT. It sends
#	no mail.
#
#	Usage: tclsh smtp_starttls.tcl HOST ?PORT? ?PEERSUBJECT?
#	  PORT         default 25 (587 for submission servers)
#	  PEERSUBJECT  the name the server certificate must carry (default HOST)
#	Prints the dialogue ("C:" lines sent, "S:" lines received) and the
#	TLS protocol; exit code 0 when the server answered 221 to QUIT.

set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel

lassign $argv host port subject
if {$host eq ""} {
    puts stderr "usage: smtp_starttls.tcl HOST ?PORT? ?PEERSUBJECT?"
    exit 2
}
if {$port eq ""} { set port 25 }
if {$subject eq ""} { set subject $host }

# Reads one SMTP reply (continuation lines "250-..." up to "250 ...");
# returns its code, or raises an error if it is not the expected one.
proc expect {chan code} {
    while 1 {
        set line [gets $chan]
        puts "S: $line"
        if {[string index $line 3] ne "-"} break
    }
    if {![string match "$code*" $line]} {
        error "expected $code, got: $line"
    }
    return $line
}

# Sends one command line.
proc send {chan line} {
    puts "C: $line"
    puts $chan $line
    flush $chan
}

set chan [socket $host $port]
fconfigure $chan -translation {auto crlf} -buffering none
expect $chan 220
send $chan "EHLO client.example"
set ehlo [expect $chan 250]
send $chan STARTTLS
expect $chan 220
# From here on the same connection carries TLS; starttls returns the
# channel to use (it keeps the translation and blocking settings). The
# negotiation runs at the first I/O; tls_handshake runs it now, so that a
# failed verification is raised here and tls_status has the session.
set chan [schannel::starttls $chan -peersubject $subject]
schannel::tls_handshake $chan
puts "-- TLS [dict get [schannel::tls_status $chan] protocol] with $subject"
send $chan "EHLO client.example"
expect $chan 250
send $chan QUIT
expect $chan 221
close $chan
