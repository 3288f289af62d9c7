# test/bench/native_source.tcl FILE --
#
#	Run by the *native* tclsh (through the peer helper): a plain TCP
#	server on a free 127.0.0.1 port that sends FILE to every connection
#	and closes it. Prints its port. It gives the benchmarks the speed at
#	which a plain Tcl socket under Wine can read from a native sender,
#	the ceiling for the product client reading from openssl s_server.

set f [open [lindex $argv 0] rb]
set data [read $f]
close $f

# send: one connection gets the whole file, in the background.
proc send {chan addr port} {
    fconfigure $chan -translation binary -blocking 0 -buffersize 1048576
    puts -nonewline $chan $::data
    fileevent $chan writable [list done $chan]
}
proc done {chan} {
    if {[chan pending output $chan] > 0} return
    close $chan
}

set listener [socket -server send -myaddr 127.0.0.1 0]
puts [lindex [fconfigure $listener -sockname] 2]
flush stdout
vwait forever
