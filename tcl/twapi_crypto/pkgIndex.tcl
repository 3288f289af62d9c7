# Tcl package index for twapi_crypto (schannel's TWAPI-compatible names).
# A real TWAPI of a higher version, if installed, wins `package require`.
package ifneeded twapi_crypto 4.0.61 [list source [file join $dir twapi_crypto.tcl]]
