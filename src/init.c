/*
 * init.c --
 *
 *	Package initialisation: creates the ::schannel commands, the
 *	script-level parts (tls_background_error) and provides the package.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "schannelInt.h"

int schannelTrace = 0;

/*
 * Trace_Printf --
 *	Writes one trace line to stderr (see TRACE in schannelInt.h).
 */
void
Trace_Printf(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("schannel: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
}

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Script-level parts: redefinable by applications. */
static const char initScript[] =
    "namespace eval ::schannel {\n"
    "    # Called for errors of event-driven negotiation (accepted\n"
    "    # connections, -async clients). The default raises the error to\n"
    "    # the interpreter's background error handler.\n"
    "    if {[info commands tls_background_error] eq {}} {\n"
    "        proc tls_background_error {msg opts} {\n"
    "            return -options $opts $msg\n"
    "        }\n"
    "    }\n"
    "    namespace export tls_* starttls sspi_* cert_* stats\n"
    "}\n";

/*
 * ReleaseInterpHandles --
 *	Interp deletion: releases the credentials, certificates and stores
 *	the interpreter's scripts did not release themselves.
 */
static void
ReleaseInterpHandles(void *clientData, Tcl_Interp *interp)
{
    (void) clientData;
    Handle_ReleaseOwnedBy(interp);
}

/*
 * Schannel_Init --
 *	Package entry point. Returns TCL_OK or TCL_ERROR.
 */
DLLEXPORT int
Schannel_Init(Tcl_Interp *interp)
{
    if (Tcl_InitStubs(interp, "8.6", 0) == NULL) {
	return TCL_ERROR;
    }
    schannelTrace = getenv("SCHANNEL_TRACE") != NULL;
    if (Tcl_CreateNamespace(interp, SCHANNEL_NS, NULL, NULL) == NULL
	    && Tcl_FindNamespace(interp, SCHANNEL_NS, NULL, 0) == NULL) {
	return TCL_ERROR;
    }
    Tcl_CreateObjCommand(interp, SCHANNEL_NS "::sspi_schannel_credentials",
	    Creds_SchannelCredentialsCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, SCHANNEL_NS "::sspi_acquire_credentials",
	    Creds_AcquireCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, SCHANNEL_NS "::sspi_free_credentials",
	    Creds_FreeCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, SCHANNEL_NS "::stats", Schannel_StatsCmd,
	    NULL, NULL);
    if (Cert_Register(interp) != TCL_OK || TlsCmd_Register(interp) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_Eval(interp, initScript) != TCL_OK) {
	return TCL_ERROR;
    }
    HalfClose_Install(interp);
    Tcl_CallWhenDeleted(interp, ReleaseInterpHandles, NULL);
    return Tcl_PkgProvide(interp, "schannel", PACKAGE_VERSION);
}

/*
 * Schannel_SafeInit --
 *	Safe interpreters get nothing: TLS needs sockets, which they lack.
 */
DLLEXPORT int
Schannel_SafeInit(Tcl_Interp *interp)
{
    Tcl_SetObjResult(interp, Tcl_NewStringObj(
	    "schannel is not available in safe interpreters", -1));
    return TCL_ERROR;
}
