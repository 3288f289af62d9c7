# test/trust-ca.tcl --
#
#	Adds the test CA (build/test-certs/ca.pem) to the CurrentUser Root
#	store of the Wine prefix, so automatic verification trusts the test
#	server certificates. Runs in its own process before the tests (a
#	process's chain engine may cache the roots it saw first).
#	Usage: tclsh86.exe test/trust-ca.tcl

set auto_path [linsert $auto_path 0 [file join [file dirname [file dirname [file normalize [info script]]]] build lib]]
package require schannel
set f [open build/test-certs/ca.pem]
set ca [schannel::cert_import [read $f] -encoding pem]
close $f
set root [schannel::cert_system_store_open Root user]
set thumb [schannel::cert_thumbprint $ca]
set found [schannel::cert_store_find_certificate $root sha1hash $thumb]
if {$found eq ""} {
    schannel::cert_release [schannel::cert_store_add_certificate $root $ca]
    puts "trusted the test CA ($thumb) in CurrentUser Root"
} else {
    schannel::cert_release $found
    puts "the test CA ($thumb) is already trusted"
}
schannel::cert_store_release $root
schannel::cert_release $ca
