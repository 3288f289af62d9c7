/*
 * halfclose.c --
 *
 *	Makes Tcl's own `close $chan write` and `chan close $chan write` work
 *	on TLS channels. Tcl 8.6 refuses a half-close on any stacked channel
 *	("half-close not applicable to stack of transformations") before the
 *	driver is asked, so the package extends the two commands in each
 *	interpreter that loads it: a write half-close of a TLS channel does
 *	what `tls_close $chan write` does (close_notify, then the TCP write
 *	side); every other call goes to Tcl's own command unchanged.
 *
 *	The commands keep their names and everything else about them: only
 *	their object procedure is replaced (Tcl_SetCommandInfo); the original
 *	one is kept and called for everything else.
 */

#include "schannelInt.h"

/* The original implementation of one wrapped command. */
typedef struct CloseWrapper {
    Tcl_ObjCmdProc *objProc;
    void *objClientData;
} CloseWrapper;

/*
 * IsWriteDirection --
 *	1 when obj names the write direction as Tcl's close accepts it (a
 *	unique prefix of "write"), else 0.
 */
static int
IsWriteDirection(Tcl_Obj *obj)
{
    static const char *const directions[] = {"read", "write", NULL};
    int index;
    return Tcl_GetIndexFromObj(NULL, obj, directions, "direction", 0,
	    &index) == TCL_OK && index == 1;
}

/*
 * WrappedCloseCmd --
 *	close chan ?direction?: a write half-close of a TLS channel goes to
 *	TlsChannel_HalfClose when the TLS layer is the top of the stack;
 *	anything else to the original command.
 */
static int
WrappedCloseCmd(void *clientData, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    CloseWrapper *w = clientData;
    if (objc == 3 && IsWriteDirection(objv[2])) {
	Tcl_Channel chan = Tcl_GetChannel(interp, Tcl_GetString(objv[1]),
		NULL);
	TlsChannel *tc = chan ? TlsChannel_FromChannel(chan) : NULL;
	/* Only a TLS channel at the top of its stack: with a transformation
	 * (zlib push, chan push) above it, the data that transformation
	 * still holds would be cut off by our close_notify; Tcl's own
	 * command refuses a half-close of such a stack. */
	if (tc != NULL && TlsChannel_Channel(tc) == Tcl_GetTopChannel(chan)) {
	    return TlsChannel_HalfClose(interp, tc);
	}
	Tcl_ResetResult(interp);	/* The original reports a bad name. */
    }
    return w->objProc(w->objClientData, interp, objc, objv);
}

/*
 * DeleteWrapper --
 *	The wrapped command is deleted: frees the wrapper (Tcl's own close
 *	has no delete procedure of its own to run).
 */
static void
DeleteWrapper(void *clientData)
{
    ckfree(clientData);
}

/*
 * WrapCommand --
 *	Replaces the object procedure of the command `name` by
 *	WrappedCloseCmd, once. A missing or replaced command is left alone
 *	(a script may have removed or redefined it). Returns nothing; never
 *	fails.
 */
static void
WrapCommand(Tcl_Interp *interp, const char *name)
{
    Tcl_CmdInfo info;
    /* Only Tcl's own command, which has no delete procedure: a command
     * that has one is a script's replacement (a proc, an alias, an
     * ensemble) or another extension's, and stays exactly what it is (a
     * proc must stay a proc for `info body`, and runs for every close). */
    if (!Tcl_GetCommandInfo(interp, name, &info) || !info.isNativeObjectProc
	    || info.objProc == WrappedCloseCmd || info.deleteProc != NULL) {
	return;
    }
    CloseWrapper *w = ckalloc(sizeof(CloseWrapper));
    w->objProc = info.objProc;
    w->objClientData = info.objClientData;
    info.objProc = WrappedCloseCmd;
    info.objClientData = w;
    info.deleteProc = DeleteWrapper;
    info.deleteData = w;
    Tcl_SetCommandInfo(interp, name, &info);
}

/*
 * HalfClose_Install --
 *	Extends ::close and ::tcl::chan::close (what `chan close` runs) in
 *	interp.
 */
void
HalfClose_Install(Tcl_Interp *interp)
{
    WrapCommand(interp, "::close");
    WrapCommand(interp, "::tcl::chan::close");
}
