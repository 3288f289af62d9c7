/*
 * tlscmd.c --
 *
 *	Script-level commands on TLS channels: tls_socket (client and
 *	server), starttls, tls_handshake, tls_state, tls_close,
 *	tls_socket_command, tls_status, sspi_remote_cert, sspi_local_cert.
 *
 *	A server is a plain listening socket whose accept callback stacks TLS
 *	on each connection; the script's callback runs only after the
 *	handshake and the verifier succeeded. Failures go to
 *	tls_background_error and the connection is closed.
 */

#include <stdio.h>
#include "schannelInt.h"

#define ASSOC_KEY "schannel"

/* An -async client or starttls channel whose handshake runs in the event
 * loop, in the list of its interpreter's state. No reference to the
 * interpreter is held meanwhile (a silent peer would keep a deleted
 * interpreter alive): its deletion sets `interp` to NULL instead. */
typedef struct AsyncWait {
    Tcl_Interp *interp;		/* NULL once the interpreter is deleted. */
    struct InterpState *state;	/* NULL likewise. */
    struct AsyncWait *prev, *next;
} AsyncWait;

/* Per-interpreter state. */
typedef struct InterpState {
    Tcl_Obj *socketCmd;		/* Command prefix that makes TCP sockets. */
    Tcl_HashTable listeners;	/* Listening channel name -> Listener. */
    Tcl_HashTable listenerIds;	/* Accept-hook id -> Listener. */
    unsigned long nextListener;
    AsyncWait *waits;		/* Client handshakes in the event loop. */
} InterpState;

/* One tls_socket -server. */
typedef struct Listener {
    InterpState *state;
    Tcl_Interp *interp;
    Tcl_Channel chan;		/* The listening socket. */
    Tcl_HashEntry *entry;	/* In state->listeners. */
    Tcl_HashEntry *idEntry;	/* In state->listenerIds. */
    Cred *cred;
    Tcl_Obj *callback;		/* Script's accept command prefix. */
    Tcl_Obj *verifier;		/* Or NULL. */
    int requestClientCert;
    struct PendingAccept *pending;	/* Connections still negotiating. */
} Listener;

/* One accepted connection waiting for its handshake; in the list of its
 * listener, which closes it if the listener closes first. Holds no
 * reference to the interpreter: the connection is registered there only,
 * so the interpreter's deletion closes it. */
typedef struct PendingAccept {
    Tcl_Interp *interp;		/* NULL once the interpreter is deleted. */
    Tcl_Obj *callback;
    Tcl_Obj *chanName;
    Tcl_Obj *addr, *port;
    Listener *listener;		/* NULL once detached. */
    struct PendingAccept *prev, *next;
} PendingAccept;

/*
 * GetState --
 *	The interpreter's InterpState, created on first use.
 */
static InterpState *
GetState(Tcl_Interp *interp)
{
    return Tcl_GetAssocData(interp, ASSOC_KEY, NULL);
}

/*
 * GetTlsChannel --
 *	The TLS layer of a named channel, or NULL with an error.
 */
static TlsChannel *
GetTlsChannel(Tcl_Interp *interp, Tcl_Obj *name, Tcl_Channel *chanPtr)
{
    int mode;
    Tcl_Channel chan = Tcl_GetChannel(interp, Tcl_GetString(name), &mode);
    if (chan == NULL) {
	return NULL;
    }
    TlsChannel *tc = TlsChannel_FromChannel(chan);
    if (tc == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"channel \"%s\" is not a TLS channel", Tcl_GetString(name)));
	Tcl_SetErrorCode(interp, "SCHANNEL", "CHANNEL", "NOTTLS",
		Tcl_GetString(name), NULL);
	return NULL;
    }
    if (chanPtr) {
	*chanPtr = chan;
    }
    return tc;
}

/*
 * CallBackgroundError --
 *	Calls ::schannel::tls_background_error msg optdict at global level;
 *	if that raises, the error goes to the interpreter's bgerror.
 */
static void
CallBackgroundError(Tcl_Interp *interp, Tcl_Obj *message, Tcl_Obj *errorCode)
{
    Tcl_Obj *opts = Tcl_NewDictObj();
    Tcl_DictObjPut(NULL, opts, Tcl_NewStringObj("-code", -1), Tcl_NewIntObj(1));
    Tcl_DictObjPut(NULL, opts, Tcl_NewStringObj("-level", -1), Tcl_NewIntObj(0));
    Tcl_DictObjPut(NULL, opts, Tcl_NewStringObj("-errorcode", -1), errorCode);
    Tcl_Obj *cmd[3] = {
	Tcl_NewStringObj(SCHANNEL_NS "::tls_background_error", -1), message, opts
    };
    Tcl_Obj *list = Tcl_NewListObj(3, cmd);
    Tcl_IncrRefCount(list);
    Tcl_Preserve(interp);
    int code = Tcl_EvalObjEx(interp, list, TCL_EVAL_GLOBAL);
    if (code != TCL_OK) {
	Tcl_BackgroundException(interp, code);
    }
    Tcl_Release(interp);
    Tcl_DecrRefCount(list);
}

/*
 *----------------------------------------------------------------------
 * Servers.
 *----------------------------------------------------------------------
 */

/*
 * DetachPendingAccept --
 *	Takes a pending connection out of its listener's list.
 */
static void
DetachPendingAccept(PendingAccept *pa)
{
    Listener *l = pa->listener;
    if (l == NULL) {
	return;
    }
    if (pa->prev) {
	pa->prev->next = pa->next;
    } else {
	l->pending = pa->next;
    }
    if (pa->next) {
	pa->next->prev = pa->prev;
    }
    pa->listener = NULL;
    pa->prev = pa->next = NULL;
}

static void
FreePendingAccept(PendingAccept *pa)
{
    DetachPendingAccept(pa);
    Tcl_DecrRefCount(pa->callback);
    Tcl_DecrRefCount(pa->chanName);
    Tcl_DecrRefCount(pa->addr);
    Tcl_DecrRefCount(pa->port);
    ckfree(pa);
}

/*
 * AcceptDone --
 *	End of an accepted connection's handshake. Open: the channel goes to
 *	blocking mode (as a plain accepted socket) and the script's callback
 *	gets chan addr port. Failed: tls_background_error, then close.
 */
static void
AcceptDone(TlsChannel *tc, int ok, void *data)
{
    PendingAccept *pa = data;
    Tcl_Interp *interp = pa->interp;
    Tcl_Channel chan = TlsChannel_Channel(tc);

    if (interp == NULL || ok == -1) {
	FreePendingAccept(pa);
	return;
    }
    /* The connection is no longer the listener's: the script's callback
     * (or tls_background_error) may close the listener, which must leave
     * this connection alone, as for a plain socket. */
    DetachPendingAccept(pa);
    Tcl_Preserve(interp);
    if (ok == 1) {
	Tcl_SetChannelOption(NULL, chan, "-blocking", "1");
	Tcl_Obj *cmd = Tcl_DuplicateObj(pa->callback);
	Tcl_IncrRefCount(cmd);
	Tcl_ListObjAppendElement(NULL, cmd, pa->chanName);
	Tcl_ListObjAppendElement(NULL, cmd, pa->addr);
	Tcl_ListObjAppendElement(NULL, cmd, pa->port);
	int code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
	if (code != TCL_OK) {
	    Tcl_BackgroundException(interp, code);
	}
	Tcl_DecrRefCount(cmd);
    } else {
	Tcl_Obj *message = TlsChannel_Error(tc), *code = TlsChannel_ErrorCode(tc);
	Tcl_IncrRefCount(message);
	Tcl_IncrRefCount(code);
	CallBackgroundError(interp, message, code);
	Tcl_DecrRefCount(message);
	Tcl_DecrRefCount(code);
	/* Unless the handler closed it already. */
	Tcl_Channel still = Tcl_GetChannel(interp, Tcl_GetString(pa->chanName),
		NULL);
	if (still != NULL && Tcl_GetTopChannel(still) == chan) {
	    Tcl_UnregisterChannel(interp, chan);
	}
	Tcl_ResetResult(interp);
    }
    FreePendingAccept(pa);
    Tcl_Release(interp);
}

/*
 * AcceptCmd --
 *	::schannel::_accept LISTENERID chan addr port: the accept callback of
 *	the listening socket. Stacks TLS and starts the handshake in the
 *	event loop.
 */
static int
AcceptCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    InterpState *state = GetState(interp);
    (void) cd;
    if (objc != 5) {
	return Error_Usage(interp, "_accept listener chan addr port");
    }
    Tcl_HashEntry *h = Tcl_FindHashEntry(&state->listenerIds,
	    Tcl_GetString(objv[1]));
    Listener *l = h ? Tcl_GetHashValue(h) : NULL;
    int mode;
    Tcl_Channel chan = Tcl_GetChannel(interp, Tcl_GetString(objv[2]), &mode);
    if (chan == NULL) {
	return TCL_ERROR;
    }
    if (l == NULL) {
	unsigned long id;
	char extra;
	if (sscanf(Tcl_GetString(objv[1]), "listener%lu%c", &id, &extra) != 1
		|| id == 0 || id >= state->nextListener
		|| TlsChannel_FromChannel(chan) != NULL) {
	    /* Not a connection of a listener of ours: leave it alone. */
	    return Error_Simple(interp, "SERVER", "LISTENER",
		    "unknown listener (this command is internal to tls_socket)");
	}
	/* The listener was closed meanwhile: nobody would take it. */
	return Tcl_UnregisterChannel(interp, chan);
    }
    TlsChannelConfig config = {
	l->cred, 1, l->requestClientCert, NULL, l->verifier, 0
    };
    Tcl_SetChannelOption(NULL, chan, "-blocking", "0");
    TlsChannel *tc = TlsChannel_Stack(interp, chan, &config);
    if (tc == NULL) {
	Tcl_Obj *err = Tcl_GetObjResult(interp);
	Tcl_IncrRefCount(err);
	Tcl_UnregisterChannel(interp, chan);	/* Nobody would take it. */
	Tcl_SetObjResult(interp, err);
	Tcl_DecrRefCount(err);
	return TCL_ERROR;
    }
    PendingAccept *pa = (PendingAccept *) ckalloc(sizeof(PendingAccept));
    pa->interp = interp;
    pa->callback = l->callback;
    pa->chanName = objv[2];
    pa->addr = objv[3];
    pa->port = objv[4];
    Tcl_IncrRefCount(pa->callback);
    Tcl_IncrRefCount(pa->chanName);
    Tcl_IncrRefCount(pa->addr);
    Tcl_IncrRefCount(pa->port);
    pa->listener = l;
    pa->prev = NULL;
    pa->next = l->pending;
    if (l->pending) {
	l->pending->prev = pa;
    }
    l->pending = pa;
    TlsChannel_StartBackground(tc, AcceptDone, pa);
    return TCL_OK;
}

/*
 * FreeListener --
 *	Releases what a Listener holds and the Listener itself.
 */
static void
FreeListener(Listener *l)
{
    Cred_Release(l->cred);
    Tcl_DecrRefCount(l->callback);
    if (l->verifier) {
	Tcl_DecrRefCount(l->verifier);
    }
    ckfree(l);
}

/*
 * ListenerClosed --
 *	Close handler of a listening socket: forgets and frees the Listener.
 */
static void
ListenerClosed(void *clientData)
{
    Listener *l = clientData;
    /* Connections still negotiating end with their listener: nobody would
     * take them, and a silent client would hold one forever. */
    while (l->pending != NULL) {
	PendingAccept *pa = l->pending;
	Tcl_Channel chan = Tcl_GetChannel(pa->interp,
		Tcl_GetString(pa->chanName), NULL);
	DetachPendingAccept(pa);
	if (chan != NULL) {
	    Tcl_UnregisterChannel(pa->interp, chan);	/* Frees pa. */
	}
    }
    Tcl_DeleteHashEntry(l->entry);
    Tcl_DeleteHashEntry(l->idEntry);
    FreeListener(l);
}

/*
 *----------------------------------------------------------------------
 * tls_socket.
 *----------------------------------------------------------------------
 */

typedef struct SocketOptions {
    Tcl_Obj *server, *myaddr, *myport, *credentials, *peersubject;
    Tcl_Obj *verifier, *socketcmd;
    int async, requestClientCert;
} SocketOptions;

#define CLIENT_USAGE "tls_socket ?-myaddr addr? ?-myport myport? ?-async?" \
    " ?-credentials creds? ?-peersubject name? ?-verifier cmd?" \
    " ?-socketcmd cmd? host port"
#define SERVER_USAGE "tls_socket -server command ?-myaddr addr?" \
    " -credentials creds ?-verifier cmd? ?-requestclientcert?" \
    " ?-socketcmd cmd? port"

/*
 * ParseSocketOptions --
 *	Parses tls_socket's options; *firstArg is set to the first non-option
 *	argument. Returns TCL_OK or TCL_ERROR with a socket-style message.
 */
static int
ParseSocketOptions(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[],
	SocketOptions *o, int *firstArg)
{
    static const char *const options[] = {
	"-server", "-myaddr", "-myport", "-async", "-credentials",
	"-peersubject", "-verifier", "-requestclientcert", "-socketcmd", NULL
    };
    memset(o, 0, sizeof(*o));
    int i;
    for (i = 1; i < objc; i++) {
	const char *arg = Tcl_GetString(objv[i]);
	int index;
	if (arg[0] != '-') {
	    break;
	}
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (index == 3) {
	    o->async = 1;
	    continue;
	}
	if (index == 7) {
	    o->requestClientCert = 1;
	    continue;
	}
	if (i + 1 >= objc) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "no argument given for %s option", options[index]));
	    Tcl_SetErrorCode(interp, "TCL", "ARGUMENT", "MISSING", NULL);
	    return TCL_ERROR;
	}
	Tcl_Obj **slot[] = {&o->server, &o->myaddr, &o->myport, NULL,
	    &o->credentials, &o->peersubject, &o->verifier, NULL, &o->socketcmd};
	*slot[index] = objv[++i];
    }
    *firstArg = i;
    return TCL_OK;
}

/*
 * MakeSocket --
 *	Runs the socket command ({*}socketcmd ?opts? args) and returns the
 *	channel it made, or NULL with its error.
 */
static Tcl_Channel
MakeSocket(Tcl_Interp *interp, const SocketOptions *o, Tcl_Obj *const args[],
	int nargs)
{
    InterpState *state = GetState(interp);
    Tcl_Obj *cmd = Tcl_DuplicateObj(o->socketcmd ? o->socketcmd : state->socketCmd);
    Tcl_IncrRefCount(cmd);
    if (o->myaddr) {
	Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj("-myaddr", -1));
	Tcl_ListObjAppendElement(NULL, cmd, o->myaddr);
    }
    if (o->myport) {
	Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj("-myport", -1));
	Tcl_ListObjAppendElement(NULL, cmd, o->myport);
    }
    if (o->async) {
	Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj("-async", -1));
    }
    for (int i = 0; i < nargs; i++) {
	Tcl_ListObjAppendElement(NULL, cmd, args[i]);
    }
    int code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(cmd);
    if (code != TCL_OK) {
	return NULL;
    }
    int mode;
    return Tcl_GetChannel(interp, Tcl_GetStringResult(interp), &mode);
}

/*
 * CredentialsFor --
 *	The credentials to use for a role: the -credentials handle (checked
 *	for the role) with a new reference, or fresh default client ones.
 */
static Cred *
CredentialsFor(Tcl_Interp *interp, Tcl_Obj *handle, int isServer)
{
    if (handle == NULL) {
	if (isServer) {
	    Error_Simple(interp, "CREDENTIALS", "MISSING",
		    "a TLS server needs -credentials (server credentials"
		    " with a certificate)");
	    return NULL;
	}
	return Cred_Acquire(interp, NULL, 0);
    }
    Cred *cred = Handle_Get(interp, handle, HANDLE_CRED);
    if (cred == NULL) {
	return NULL;
    }
    if (cred->isServer != isServer) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("credentials \"%s\" were"
		" acquired for the %s role, not the %s role",
		Tcl_GetString(handle), cred->isServer ? "server" : "client",
		isServer ? "server" : "client"));
	Tcl_SetErrorCode(interp, "SCHANNEL", "CREDENTIALS", "ROLE", NULL);
	return NULL;
    }
    Cred_Retain(cred);
    return cred;
}

/*
 * ServerSocket --
 *	tls_socket -server: opens the listening socket through the socket
 *	command with our accept hook and returns its name.
 */
static int
ServerSocket(Tcl_Interp *interp, SocketOptions *o, Tcl_Obj *const args[],
	int nargs)
{
    InterpState *state = GetState(interp);
    if (nargs != 1 || o->myport || o->async) {
	return Error_Usage(interp, SERVER_USAGE);
    }
    if (o->peersubject) {
	return Error_Simple(interp, "SOCKET", "OPTION",
		"option -peersubject is not valid for servers");
    }
    Cred *cred = CredentialsFor(interp, o->credentials, 1);
    if (cred == NULL) {
	return TCL_ERROR;
    }
    Listener *l = (Listener *) ckalloc(sizeof(Listener));
    memset(l, 0, sizeof(*l));
    l->state = state;
    l->interp = interp;
    l->cred = cred;
    l->callback = o->server;
    Tcl_IncrRefCount(l->callback);
    if (o->verifier && Tcl_GetCharLength(o->verifier) > 0) {
	l->verifier = o->verifier;
	Tcl_IncrRefCount(l->verifier);
    }
    l->requestClientCert = o->requestClientCert;

    char id[32];
    int isNew;
    snprintf(id, sizeof(id), "listener%lu", state->nextListener++);
    Tcl_Obj *hook[2] = {
	Tcl_NewStringObj(SCHANNEL_NS "::_accept", -1), Tcl_NewStringObj(id, -1)
    };
    Tcl_Obj *serverArgs[3] = {
	Tcl_NewStringObj("-server", -1), Tcl_NewListObj(2, hook), args[0]
    };
    SocketOptions listenOpts = *o;
    listenOpts.async = 0;
    Tcl_Channel chan = MakeSocket(interp, &listenOpts, serverArgs, 3);
    if (chan == NULL) {
	Cred_Release(cred);
	Tcl_DecrRefCount(l->callback);
	if (l->verifier) {
	    Tcl_DecrRefCount(l->verifier);
	}
	ckfree(l);
	return TCL_ERROR;
    }
    l->chan = chan;
    l->idEntry = Tcl_CreateHashEntry(&state->listenerIds, id, &isNew);
    Tcl_SetHashValue(l->idEntry, l);
    l->entry = Tcl_CreateHashEntry(&state->listeners,
	    Tcl_GetChannelName(chan), &isNew);
    Tcl_SetHashValue(l->entry, l);
    Tcl_CreateCloseHandler(chan, ListenerClosed, l);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(Tcl_GetChannelName(chan), -1));
    return TCL_OK;
}

/*
 * NewAsyncWait, FreeAsyncWait --
 *	The record of a client handshake running in the event loop.
 */
static AsyncWait *
NewAsyncWait(Tcl_Interp *interp)
{
    InterpState *state = GetState(interp);
    AsyncWait *w = (AsyncWait *) ckalloc(sizeof(AsyncWait));
    w->interp = interp;
    w->state = state;
    w->prev = NULL;
    w->next = state->waits;
    if (state->waits) {
	state->waits->prev = w;
    }
    state->waits = w;
    return w;
}

static void
FreeAsyncWait(AsyncWait *w)
{
    if (w->state != NULL) {
	if (w->prev) {
	    w->prev->next = w->next;
	} else {
	    w->state->waits = w->next;
	}
	if (w->next) {
	    w->next->prev = w->prev;
	}
    }
    ckfree(w);
}

/*
 * AsyncClientDone --
 *	End of an event-driven client (or starttls) handshake: tells the
 *	script (writable fires when open; readable and writable when failed,
 *	so handlers see the error) and reports failures to
 *	tls_background_error.
 */
static void
AsyncClientDone(TlsChannel *tc, int ok, void *data)
{
    AsyncWait *w = data;
    Tcl_Interp *interp = w->interp;
    Tcl_Channel chan = TlsChannel_Channel(tc);
    FreeAsyncWait(w);
    if (interp == NULL || ok == -1) {
	return;		/* Closed first, or its interpreter is gone. */
    }
    Tcl_Preserve(interp);
    if (ok == 0) {
	Tcl_Obj *message = TlsChannel_Error(tc), *code = TlsChannel_ErrorCode(tc);
	Tcl_IncrRefCount(message);
	Tcl_IncrRefCount(code);
	Tcl_Preserve(tc);
	Tcl_NotifyChannel(chan, TCL_WRITABLE | TCL_READABLE);
	CallBackgroundError(interp, message, code);
	Tcl_Release(tc);
	Tcl_DecrRefCount(message);
	Tcl_DecrRefCount(code);
    } else {
	Tcl_NotifyChannel(chan, TCL_WRITABLE);
    }
    Tcl_Release(interp);
}

/*
 * TlsSocketCmd --
 *	tls_socket: client or server, with socket's options and ours.
 */
static int
TlsSocketCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    SocketOptions o;
    int first;
    (void) cd;
    if (ParseSocketOptions(interp, objc, objv, &o, &first) != TCL_OK) {
	return TCL_ERROR;
    }
    if (o.server) {
	return ServerSocket(interp, &o, objv + first, objc - first);
    }
    if (objc - first != 2 || o.requestClientCert) {
	return Error_Usage(interp, CLIENT_USAGE);
    }
    Cred *cred = CredentialsFor(interp, o.credentials, 0);
    if (cred == NULL) {
	return TCL_ERROR;
    }
    Tcl_Channel chan = MakeSocket(interp, &o, objv + first, 2);
    if (chan == NULL) {
	Cred_Release(cred);
	return TCL_ERROR;
    }
    if (Tcl_GetChannelMode(chan) != (TCL_READABLE | TCL_WRITABLE)) {
	Cred_Release(cred);
	Tcl_UnregisterChannel(interp, chan);	/* Nobody would take it. */
	return Error_Simple(interp, "SOCKET", "MODE", "the socket command did"
		" not return a channel open for reading and writing");
    }
    Tcl_Obj *name = Tcl_NewStringObj(Tcl_GetChannelName(chan), -1);
    Tcl_IncrRefCount(name);
    TlsChannelConfig config = {
	cred, 0, 0,
	Tcl_GetString(o.peersubject ? o.peersubject : objv[first]),
	o.verifier, 0
    };
    TlsChannel *tc = TlsChannel_Stack(interp, chan, &config);
    Cred_Release(cred);
    int code = TCL_OK;
    if (tc == NULL) {
	Tcl_Obj *err = Tcl_GetObjResult(interp);
	Tcl_IncrRefCount(err);
	Tcl_UnregisterChannel(interp, chan);
	Tcl_SetObjResult(interp, err);
	Tcl_DecrRefCount(err);
	code = TCL_ERROR;
    } else if (o.async) {
	TlsChannel_StartBackground(tc, AsyncClientDone, NewAsyncWait(interp));
	Tcl_SetObjResult(interp, name);
    } else if (TlsChannel_Handshake(interp, tc) < 0) {
	Tcl_Obj *err = Tcl_GetObjResult(interp);
	Tcl_Obj *options = Tcl_GetReturnOptions(interp, TCL_ERROR);
	Tcl_IncrRefCount(err);
	Tcl_IncrRefCount(options);
	if (Tcl_GetChannel(interp, Tcl_GetString(name), NULL) == chan) {
	    Tcl_UnregisterChannel(interp, chan);	/* Unless already closed. */
	}
	Tcl_SetReturnOptions(interp, options);
	Tcl_SetObjResult(interp, err);
	Tcl_DecrRefCount(err);
	Tcl_DecrRefCount(options);
	code = TCL_ERROR;
    } else {
	Tcl_SetObjResult(interp, name);
    }
    Tcl_DecrRefCount(name);
    return code;
}

/*
 *----------------------------------------------------------------------
 * starttls and the channel commands.
 *----------------------------------------------------------------------
 */

/*
 * StarttlsCmd --
 *	starttls chan ?-server? ?-credentials C? ?-peersubject P?
 *	    ?-verifier V? ?-requestclientcert?
 *	Stacks TLS on an open channel, keeping its options; negotiation runs
 *	in the event loop, or at the first I/O in blocking mode.
 */
static int
StarttlsCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-server", "-credentials", "-peersubject", "-verifier",
	"-requestclientcert", NULL
    };
    Tcl_Obj *credentials = NULL, *peersubject = NULL, *verifier = NULL;
    int isServer = 0, requestClientCert = 0;
    (void) cd;
    if (objc < 2) {
	return Error_Usage(interp, "starttls chan ?-server? ?-credentials creds?"
		" ?-peersubject name? ?-verifier cmd? ?-requestclientcert?");
    }
    for (int i = 2; i < objc; i++) {
	int index;
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (index == 0) {
	    isServer = 1;
	} else if (index == 4) {
	    requestClientCert = 1;
	} else if (++i >= objc) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "no argument given for %s option", options[index]));
	    Tcl_SetErrorCode(interp, "TCL", "ARGUMENT", "MISSING", NULL);
	    return TCL_ERROR;
	} else {
	    Tcl_Obj **slot[] = {NULL, &credentials, &peersubject, &verifier};
	    *slot[index] = objv[i];
	}
    }
    if (!isServer && peersubject == NULL) {
	return Error_Simple(interp, "STARTTLS", "PEERSUBJECT",
		"starttls on a client needs -peersubject");
    }
    if (isServer && peersubject != NULL) {
	return Error_Simple(interp, "STARTTLS", "PEERSUBJECT",
		"option -peersubject is not valid for servers");
    }
    int mode;
    Tcl_Channel chan = Tcl_GetChannel(interp, Tcl_GetString(objv[1]), &mode);
    if (chan == NULL) {
	return TCL_ERROR;
    }
    if (TlsChannel_FromChannel(chan) != NULL) {
	return Error_Simple(interp, "STARTTLS", "ALREADY",
		"channel is already a TLS channel");
    }
    if (mode != (TCL_READABLE | TCL_WRITABLE)) {
	return Error_Simple(interp, "STARTTLS", "MODE",
		"starttls needs a connected channel open for reading and writing");
    }
    if (Tcl_Flush(chan) != TCL_OK) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("error flushing \"%s\": %s",
		Tcl_GetChannelName(chan), Tcl_PosixError(interp)));
	return TCL_ERROR;
    }
    Cred *cred = CredentialsFor(interp, credentials, isServer);
    if (cred == NULL) {
	return TCL_ERROR;
    }
    TlsChannelConfig config = {
	cred, isServer, requestClientCert,
	peersubject ? Tcl_GetString(peersubject) : NULL, verifier,
	1	/* The wrapped channel's settings are kept. */
    };
    TlsChannel *tc = TlsChannel_Stack(interp, chan, &config);
    Cred_Release(cred);
    if (tc == NULL) {
	return TCL_ERROR;
    }
    TlsChannel_StartBackground(tc, AsyncClientDone, NewAsyncWait(interp));
    Tcl_SetObjResult(interp, Tcl_NewStringObj(Tcl_GetChannelName(chan), -1));
    return TCL_OK;
}

/*
 * TlsHandshakeCmd --
 *	tls_handshake chan: 1 when open, 0 while negotiating (non-blocking);
 *	raises the negotiation error.
 */
static int
TlsHandshakeCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "tls_handshake chan");
    }
    TlsChannel *tc = GetTlsChannel(interp, objv[1], NULL);
    if (tc == NULL) {
	return TCL_ERROR;
    }
    int state = TlsChannel_Handshake(interp, tc);
    if (state < 0) {
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, Tcl_NewIntObj(state));
    return TCL_OK;
}

/*
 * TlsStateCmd --
 *	tls_state chan: CLIENTINIT, SERVERINIT, LISTENER, NEGOTIATING, OPEN,
 *	CLOSED.
 */
static int
TlsStateCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "tls_state chan");
    }
    InterpState *state = GetState(interp);
    int mode;
    Tcl_Channel chan = Tcl_GetChannel(interp, Tcl_GetString(objv[1]), &mode);
    if (chan == NULL) {
	return TCL_ERROR;
    }
    if (Tcl_FindHashEntry(&state->listeners, Tcl_GetChannelName(chan))) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("LISTENER", -1));
	return TCL_OK;
    }
    TlsChannel *tc = GetTlsChannel(interp, objv[1], NULL);
    if (tc == NULL) {
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, Tcl_NewStringObj(TlsChannel_StateName(tc), -1));
    return TCL_OK;
}

/*
 * TlsCloseCmd --
 *	tls_close chan ?write?: close, or half-close the write side (our
 *	close_notify, then the TCP write side); reading continues.
 */
static int
TlsCloseCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc < 2 || objc > 3 || (objc == 3
	    && strcmp(Tcl_GetString(objv[2]), "write") != 0)) {
	return Error_Usage(interp, "tls_close chan ?write?");
    }
    if (objc == 3) {
	TlsChannel *tc = GetTlsChannel(interp, objv[1], NULL);
	return tc ? TlsChannel_HalfClose(interp, tc) : TCL_ERROR;
    }
    Tcl_Obj *cmd[2] = {Tcl_NewStringObj("::close", -1), objv[1]};
    Tcl_Obj *list = Tcl_NewListObj(2, cmd);
    Tcl_IncrRefCount(list);
    int code = Tcl_EvalObjEx(interp, list, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(list);
    return code;
}

/*
 * TlsSocketCommandCmd --
 *	tls_socket_command ?cmd?: gets or sets the TCP socket command prefix.
 */
static int
TlsSocketCommandCmd(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    InterpState *state = GetState(interp);
    (void) cd;
    if (objc > 2) {
	return Error_Usage(interp, "tls_socket_command ?cmd?");
    }
    if (objc == 2) {
	Tcl_Size n;
	if (Tcl_ListObjLength(interp, objv[1], &n) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (n == 0) {
	    return Error_Simple(interp, "SOCKET", "COMMAND",
		    "the socket command must not be empty");
	}
	Tcl_IncrRefCount(objv[1]);
	Tcl_DecrRefCount(state->socketCmd);
	state->socketCmd = objv[1];
    }
    Tcl_SetObjResult(interp, state->socketCmd);
    return TCL_OK;
}

/*
 * RemoteOrLocalCertCmd --
 *	sspi_remote_cert / sspi_local_cert CTX: the peer's (or our own)
 *	certificate of a security context, "" when there is none.
 */
static int
RemoteOrLocalCertCmd(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    int local = (cd != NULL);
    if (objc != 2) {
	return Error_Usage(interp, local ? "sspi_local_cert CTX"
		: "sspi_remote_cert CTX");
    }
    TlsChannel *tc = TlsChannel_FromContext(interp, objv[1]);
    if (tc == NULL) {
	return TCL_ERROR;
    }
    TlsEngine *e = TlsChannel_Engine(tc);
    PCCERT_CONTEXT cert = NULL;
    if (!e->haveCtx) {
	return TCL_OK;
    }
    SECURITY_STATUS status = QueryContextAttributesW(&e->ctx, local
	    ? SECPKG_ATTR_LOCAL_CERT_CONTEXT : SECPKG_ATTR_REMOTE_CERT_CONTEXT,
	    &cert);
    if (local && (status != SEC_E_OK || cert == NULL)) {
	/* Not every platform reports our own certificate; a server's is
	 * the one of its credentials. */
	Cred *cred = TlsChannel_Cred(tc);
	if (cred != NULL && cred->serverCert != NULL) {
	    cert = CertDuplicateCertificateContext(cred->serverCert);
	    status = SEC_E_OK;
	}
    }
    if (status == SEC_E_NO_CREDENTIALS || status == SEC_E_UNSUPPORTED_FUNCTION
	    || (status == SEC_E_OK && cert == NULL)) {
	return TCL_OK;
    }
    if (status != SEC_E_OK) {
	return Error_Set(interp, "CONTEXT", status, "cannot read the certificate");
    }
    Tcl_SetObjResult(interp, Cert_NewHandle(interp, cert));
    return TCL_OK;
}

/*
 * AlgName --
 *	A short name for a CryptoAPI algorithm id.
 */
static const char *
AlgName(ALG_ID alg)
{
    switch (alg) {
    case CALG_AES_128: return "aes128";
    case CALG_AES_256: return "aes256";
    case CALG_AES: return "aes";
    case CALG_3DES: return "3des";
    case CALG_RC4: return "rc4";
    case CALG_SHA1: return "sha1";
    case CALG_SHA_256: return "sha256";
    case CALG_SHA_384: return "sha384";
    case CALG_SHA_512: return "sha512";
    case CALG_MD5: return "md5";
    case CALG_RSA_KEYX: return "rsa";
    case CALG_DH_EPHEM: return "dhe";
    case CALG_ECDH: return "ecdh";
    case CALG_ECDH_EPHEM: return "ecdhe";
    case 0: return "";
    default: return "unknown";
    }
}

/*
 * TlsStatusCmd --
 *	tls_status chan: dict of protocol, cipher, cipher_strength, hash,
 *	hash_strength, key_exchange, key_exchange_strength, peer_subject,
 *	peer_issuer, alpn, server_name. Unknown attributes are "".
 */
static int
TlsStatusCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "tls_status chan");
    }
    TlsChannel *tc = GetTlsChannel(interp, objv[1], NULL);
    if (tc == NULL) {
	return TCL_ERROR;
    }
    TlsEngine *e = TlsChannel_Engine(tc);
    Tcl_Obj *d = Tcl_NewDictObj();
#define PUT(k, v) Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(k, -1), v)
    SecPkgContext_ConnectionInfo info;
    memset(&info, 0, sizeof(info));
    if (!e->haveCtx || QueryContextAttributesW(&e->ctx,
	    SECPKG_ATTR_CONNECTION_INFO, &info) != SEC_E_OK) {
	memset(&info, 0, sizeof(info));
    }
    const char *proto = Creds_ProtocolName(info.dwProtocol);
    PUT("state", Tcl_NewStringObj(TlsChannel_StateName(tc), -1));
    PUT("protocol", Tcl_NewStringObj(proto ? proto : "", -1));
    PUT("cipher", Tcl_NewStringObj(AlgName(info.aiCipher), -1));
    PUT("cipher_strength", Tcl_NewIntObj((int) info.dwCipherStrength));
    PUT("hash", Tcl_NewStringObj(AlgName(info.aiHash), -1));
    PUT("hash_strength", Tcl_NewIntObj((int) info.dwHashStrength));
    PUT("key_exchange", Tcl_NewStringObj(AlgName(info.aiExch), -1));
    PUT("key_exchange_strength", Tcl_NewIntObj((int) info.dwExchStrength));

    SecPkgContext_CipherInfo cipher;
    memset(&cipher, 0, sizeof(cipher));
    char suite[128] = "";
    if (e->haveCtx && QueryContextAttributesW(&e->ctx, SECPKG_ATTR_CIPHER_INFO,
	    &cipher) == SEC_E_OK) {
	WideCharToMultiByte(CP_UTF8, 0, cipher.szCipherSuite, -1, suite,
		sizeof(suite), NULL, NULL);
    }
    PUT("cipher_suite", Tcl_NewStringObj(suite, -1));

    Tcl_Obj *subject = Tcl_NewObj(), *issuer = Tcl_NewObj();
    PCCERT_CONTEXT cert = NULL;
    if (e->haveCtx && QueryContextAttributesW(&e->ctx,
	    SECPKG_ATTR_REMOTE_CERT_CONTEXT, &cert) == SEC_E_OK && cert) {
	WCHAR buf[512];
	char utf8[1536];
	DWORD strType = CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG;
	CertGetNameStringW(cert, CERT_NAME_RDN_TYPE, 0, &strType, buf, 512);
	WideCharToMultiByte(CP_UTF8, 0, buf, -1, utf8, sizeof(utf8), NULL, NULL);
	Tcl_SetStringObj(subject, utf8, -1);
	CertGetNameStringW(cert, CERT_NAME_RDN_TYPE, CERT_NAME_ISSUER_FLAG,
		&strType, buf, 512);
	WideCharToMultiByte(CP_UTF8, 0, buf, -1, utf8, sizeof(utf8), NULL, NULL);
	Tcl_SetStringObj(issuer, utf8, -1);
	CertFreeCertificateContext(cert);
    }
    PUT("peer_subject", subject);
    PUT("peer_issuer", issuer);

    SecPkgContext_ApplicationProtocol alpn;
    memset(&alpn, 0, sizeof(alpn));
    Tcl_Obj *alpnObj = Tcl_NewObj();
    if (e->haveCtx && QueryContextAttributesW(&e->ctx,
	    SECPKG_ATTR_APPLICATION_PROTOCOL, &alpn) == SEC_E_OK
	    && alpn.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success) {
	Tcl_SetStringObj(alpnObj, (const char *) alpn.ProtocolId,
		alpn.ProtocolIdSize);
    }
    PUT("alpn", alpnObj);
    Tcl_Obj *server = Tcl_NewObj();
    if (e->targetName) {
	/* Sized for the whole name (a peer subject may be of any length). */
	int n = WideCharToMultiByte(CP_UTF8, 0, e->targetName, -1, NULL, 0,
		NULL, NULL);
	if (n > 1) {
	    char *utf8 = ckalloc(n);
	    WideCharToMultiByte(CP_UTF8, 0, e->targetName, -1, utf8, n, NULL,
		    NULL);
	    Tcl_SetStringObj(server, utf8, n - 1);
	    ckfree(utf8);
	}
    }
    PUT("server_name", server);
#undef PUT
    Tcl_SetObjResult(interp, d);
    return TCL_OK;
}

/*
 * FreeInterpState --
 *	Interpreter deletion: frees the listeners (Tcl closes their channels,
 *	possibly after this) and the state.
 */
static void
FreeInterpState(void *clientData, Tcl_Interp *interp)
{
    InterpState *state = clientData;
    Tcl_HashSearch search;
    (void) interp;
    /* The listening channels may be closed after this: detach them, and
     * the connections still negotiating (closed with the interpreter's
     * other channels, before or after this). */
    for (Tcl_HashEntry *h = Tcl_FirstHashEntry(&state->listeners, &search);
	    h != NULL; h = Tcl_NextHashEntry(&search)) {
	Listener *l = Tcl_GetHashValue(h);
	while (l->pending != NULL) {
	    PendingAccept *pa = l->pending;
	    DetachPendingAccept(pa);
	    pa->interp = NULL;
	}
	Tcl_DeleteCloseHandler(l->chan, ListenerClosed, l);
	FreeListener(l);
    }
    for (AsyncWait *w = state->waits; w != NULL; w = w->next) {
	w->interp = NULL;
	w->state = NULL;
    }
    Tcl_DecrRefCount(state->socketCmd);
    Tcl_DeleteHashTable(&state->listeners);
    Tcl_DeleteHashTable(&state->listenerIds);
    ckfree(state);
}

/*
 * TlsCmd_Register --
 *	Creates the channel commands and the per-interpreter state.
 */
int
TlsCmd_Register(Tcl_Interp *interp)
{
    static const struct {
	const char *name;
	Tcl_ObjCmdProc *proc;
	void *data;
    } commands[] = {
	{"tls_socket", TlsSocketCmd, NULL},
	{"starttls", StarttlsCmd, NULL},
	{"tls_handshake", TlsHandshakeCmd, NULL},
	{"tls_state", TlsStateCmd, NULL},
	{"tls_close", TlsCloseCmd, NULL},
	{"tls_socket_command", TlsSocketCommandCmd, NULL},
	{"tls_status", TlsStatusCmd, NULL},
	{"sspi_remote_cert", RemoteOrLocalCertCmd, NULL},
	{"sspi_local_cert", RemoteOrLocalCertCmd, (void *) 1},
	{"_accept", AcceptCmd, NULL},
    };
    if (GetState(interp) == NULL) {
	InterpState *state = (InterpState *) ckalloc(sizeof(InterpState));
	state->socketCmd = Tcl_NewStringObj("::socket", -1);
	Tcl_IncrRefCount(state->socketCmd);
	Tcl_InitHashTable(&state->listeners, TCL_STRING_KEYS);
	Tcl_InitHashTable(&state->listenerIds, TCL_STRING_KEYS);
	state->nextListener = 1;
	state->waits = NULL;
	Tcl_SetAssocData(interp, ASSOC_KEY, FreeInterpState, state);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
	char name[64];
	snprintf(name, sizeof(name), SCHANNEL_NS "::%s", commands[i].name);
	Tcl_CreateObjCommand(interp, name, commands[i].proc, commands[i].data,
		NULL);
    }
    return TCL_OK;
}
