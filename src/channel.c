/*
 * channel.c --
 *
 *	The TLS channel type, stacked with Tcl_StackChannel over the TCP
 *	channel that `socket` (or -socketcmd) made. Ciphertext moves between
 *	the engine (engine.c) and the channel below with Tcl_ReadRaw and
 *	Tcl_WriteRaw; plaintext moves between the engine and Tcl's generic
 *	I/O layer through the input and output procedures. Whether a
 *	negotiated session is acceptable (protocol, strength, verifier,
 *	automatic verification) is decided in peercheck.c.
 *
 *	Event model:
 *	- While negotiating, the channel keeps readable interest on the socket
 *	  whatever the script asked for, and the handler procedure steps the
 *	  handshake; its events are not passed up to the script.
 *	- Plaintext or whole records held in the engine are invisible to the
 *	  OS notifier, so the watch procedure schedules a timer that notifies
 *	  the channel while such data waits and the script wants to read.
 *	- Ciphertext that the socket did not take is queued in the engine and
 *	  drained when the socket is writable; the script sees writable only
 *	  once that queue is short.
 *	- Work that runs script code (verifier, accept callback) is posted to
 *	  the event loop with a timer, never run inside a driver procedure.
 */

#include <winsock2.h>		/* Before windows.h (via schannelInt.h). */
#include <errno.h>
#include <stdio.h>
#include "channelInt.h"

/* A non-blocking write is refused (EAGAIN) while this much ciphertext is
 * still queued, so a fast writer cannot grow the queue without bound. */
#define CIPHER_HIGH_WATER	(256 * 1024)
/* The error of I/O that a verifier attempts on its own channel. */
#define VERIFYING_MESSAGE \
    "the channel is not open until its verifier returns"
/* How long closing a non-blocking channel may wait for a peer that does not
 * read, to send the last queued ciphertext and our close_notify. */
#define CLOSE_DRAIN_MS		5000
/* The largest plaintext of one TLS record. */
#define TLS_MAX_PLAINTEXT	16384
/* A drained ciphertext queue larger than this gives its storage back. */
#define CIPHER_KEEP		(64 * 1024)
/* Bytes asked of the socket per read: each socket call is costly (under
 * Wine, a server round trip shared by every process), so a connection that
 * keeps filling its reads gets larger ones, up to READ_MAX; one that reads
 * little goes back towards READ_MIN, so small exchanges never allocate
 * large buffers. Measured on a 64 MiB download from openssl s_server:
 * 128 KiB reads gave 150 MiB/s, 1 MiB reads 360 MiB/s. */
#define READ_MIN		(32 * 1024)
#define READ_MAX		(1024 * 1024)

static Tcl_DriverBlockModeProc	TlsBlockModeProc;
static Tcl_DriverClose2Proc	TlsClose2Proc;
static Tcl_DriverInputProc	TlsInputProc;
static Tcl_DriverOutputProc	TlsOutputProc;
static Tcl_DriverSetOptionProc	TlsSetOptionProc;
static Tcl_DriverGetOptionProc	TlsGetOptionProc;
static Tcl_DriverWatchProc	TlsWatchProc;
static Tcl_DriverGetHandleProc	TlsGetHandleProc;
static Tcl_DriverHandlerProc	TlsHandlerProc;
static Tcl_DriverThreadActionProc TlsThreadActionProc;

static const Tcl_ChannelType tlsChannelType = {
    "schannel",			/* Type name. */
    TCL_CHANNEL_VERSION_5,
    TCL_CLOSE2PROC,		/* Close: see close2Proc. */
    TlsInputProc,
    TlsOutputProc,
    NULL,			/* Seek. */
    TlsSetOptionProc,
    TlsGetOptionProc,
    TlsWatchProc,
    TlsGetHandleProc,
    TlsClose2Proc,
    TlsBlockModeProc,
    NULL,			/* Flush. */
    TlsHandlerProc,
    NULL,			/* Wide seek. */
    TlsThreadActionProc,
    NULL			/* Truncate. */
};

static const char *const ownOptions[] = {
    "-credentials", "-context", "-verifier", NULL
};

static void	NotifyTimerProc(void *clientData);
static void	DoneTimerProc(void *clientData);
static void	KickTimerProc(void *clientData);

/*
 *----------------------------------------------------------------------
 * Failures: the first one is kept and reported by every later I/O.
 *----------------------------------------------------------------------
 */

/*
 * TlsChannel_SetFailure --
 *	Stores the first failure of the channel (message and errorCode) and
 *	makes it visible to Tcl's generic layer. Later failures are ignored.
 */
void
TlsChannel_SetFailure(TlsChannel *tc, Tcl_Obj *message, Tcl_Obj *code)
{
    Tcl_IncrRefCount(message);
    Tcl_IncrRefCount(code);
    if (tc->flags & TLS_FAILED) {
	Tcl_DecrRefCount(message);
	Tcl_DecrRefCount(code);
	return;
    }
    tc->flags |= TLS_FAILED;
    tc->error = message;
    tc->errorCode = code;
    /* Input not yet decrypted and output not yet encrypted are of no use
     * now (decrypted data stays readable; an alert may still be sent). */
    ByteBuf_Free(&tc->engine.cipherIn);
    ByteBuf_Free(&tc->engine.plainOut);
}

/*
 * TlsChannel_FailStatus --
 *	Stores a failure for an SSPI status, e.g. SCHANNEL HANDSHAKE SEC_E_...
 */
void
TlsChannel_FailStatus(TlsChannel *tc, const char *category, long status,
	const char *context)
{
    Tcl_Obj *message, *code;
    Error_Build(category, status, context, &message, &code);
    TlsChannel_SetFailure(tc, message, code);
}

/*
 * TlsChannel_FailSimple --
 *	Stores a failure with errorCode SCHANNEL CATEGORY DETAIL MESSAGE.
 */
void
TlsChannel_FailSimple(TlsChannel *tc, const char *category,
	const char *detail, const char *message)
{
    Tcl_Obj *code[4] = {
	Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj(category, -1),
	Tcl_NewStringObj(detail, -1), Tcl_NewStringObj(message, -1)
    };
    TlsChannel_SetFailure(tc, Tcl_NewStringObj(message, -1),
	    Tcl_NewListObj(4, code));
}

/*
 * FailSocket --
 *	Stores a failure for the socket's last errno: "CONTEXT: reason", with
 *	errorCode SCHANNEL CATEGORY SOCKET ERRNO-ID.
 */
static void
FailSocket(TlsChannel *tc, const char *category, const char *context)
{
    Tcl_Obj *msg = Tcl_ObjPrintf("%s: %s", context,
	    Tcl_ErrnoMsg(Tcl_GetErrno()));
    Tcl_Obj *code[4] = {
	Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj(category, -1),
	Tcl_NewStringObj("SOCKET", -1), Tcl_NewStringObj(Tcl_ErrnoId(), -1)
    };
    TlsChannel_SetFailure(tc, msg, Tcl_NewListObj(4, code));
}

/*
 *----------------------------------------------------------------------
 * Moving ciphertext between the engine and the socket.
 *----------------------------------------------------------------------
 */

/*
 * FlushCipher --
 *	Sends queued ciphertext to the socket. In blocking mode (or when
 *	`block` is set) sends all of it; else as much as the socket takes.
 *	Returns 0, or -1 with the errno of a real send error.
 */
static int
FlushCipher(TlsChannel *tc, int block)
{
    ByteBuf *out = &tc->engine.cipherOut;
    while (out->len > 0) {
	int chunk = out->len > INT_MAX ? INT_MAX : (int) out->len;
	int n = Tcl_WriteRaw(tc->lower, (const char *) ByteBuf_Head(out), chunk);
	if (n > 0) {
	    ByteBuf_Consume(out, (size_t) n);
	    continue;
	}
	int err = Tcl_GetErrno();
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK) && !block) {
	    return 0;
	}
	if (n == 0 && !block) {
	    return 0;
	}
	return -1;
    }
    if (out->cap > CIPHER_KEEP) {
	ByteBuf_Trim(out);	/* A burst is over: give its storage back. */
    }
    return 0;
}

/*
 * TrimIdleBuffers --
 *	Gives back the storage of the engine's empty buffers, so an idle
 *	connection holds (almost) none. Called when the socket has nothing to
 *	read; a busy connection keeps its buffers between records.
 */
static void
TrimIdleBuffers(TlsChannel *tc)
{
    TlsEngine *e = &tc->engine;
    TRACE("%s trim: cipherIn %lu/%lu plainIn %lu/%lu cipherOut %lu/%lu"
	    " plainOut %lu/%lu", Tcl_GetChannelName(tc->self),
	    (unsigned long) e->cipherIn.len, (unsigned long) e->cipherIn.cap,
	    (unsigned long) e->plainIn.len, (unsigned long) e->plainIn.cap,
	    (unsigned long) e->cipherOut.len, (unsigned long) e->cipherOut.cap,
	    (unsigned long) e->plainOut.len, (unsigned long) e->plainOut.cap);
    if (e->cipherIn.len == 0 && e->plainIn.len == 0) {
	ByteBuf_Trim(&e->cipherIn);
	ByteBuf_Trim(&e->plainIn);
    }
    ByteBuf_Trim(&e->cipherOut);
    if (e->state != ENGINE_HANDSHAKE) {
	ByteBuf_Trim(&e->plainOut);
    }
}

/*
 * ReadSocket --
 *	One read from the socket into the engine's ciphertext input.
 *	Returns bytes read, 0 at EOF, -1 with errno set (EAGAIN: nothing now).
 */
static int
ReadSocket(TlsChannel *tc)
{
    ByteBuf *in = &tc->engine.cipherIn;
    if (!ByteBuf_Reserve(in, (size_t) tc->readSize)) {
	Tcl_SetErrno(ENOMEM);
	return -1;
    }
    int n = Tcl_ReadRaw(tc->lower, (char *) ByteBuf_Tail(in), tc->readSize);
    if (n > 0) {
	in->len += (size_t) n;
	if (n == tc->readSize && tc->readSize < READ_MAX) {
	    tc->readSize *= 2;		/* More is waiting: ask for more. */
	} else if (n < tc->readSize / 8 && tc->readSize > READ_MIN) {
	    tc->readSize /= 2;
	}
    } else if (n == 0 && !Tcl_Eof(tc->lower)) {
	Tcl_SetErrno(EAGAIN);		/* A non-blocking read found nothing. */
	n = -1;
    }
    if (n < 0 && (Tcl_GetErrno() == EAGAIN || Tcl_GetErrno() == EWOULDBLOCK)) {
	/* The connection is idle for now: it need not hold buffer storage. */
	TrimIdleBuffers(tc);
	Tcl_SetErrno(EAGAIN);
    }
    return n;
}

/*
 * UpdateSocketInterest --
 *	Tells the socket which events we need: readable while negotiating or
 *	when the script reads, writable while ciphertext is queued or the
 *	script writes.
 */
static void
UpdateSocketInterest(TlsChannel *tc)
{
    int mask = 0;
    if (tc->flags & TLS_CLOSING) {
	return;
    }
    if ((tc->flags & TLS_BACKGROUND) && !(tc->flags & (TLS_OPEN | TLS_FAILED))) {
	mask |= TCL_READABLE;
	if (!(tc->flags & (TLS_SERVER | TLS_STARTED))) {
	    mask |= TCL_WRITABLE;	/* Start once connected. */
	}
    } else {
	mask |= tc->watchMask & TCL_READABLE;
	if (tc->watchMask & TCL_WRITABLE) {
	    mask |= TCL_WRITABLE;
	}
    }
    if (tc->engine.cipherOut.len > 0) {
	mask |= TCL_WRITABLE;
    }
    Tcl_DriverWatchProc *watch = Tcl_ChannelWatchProc(Tcl_GetChannelType(tc->lower));
    TRACE("%s socket interest %d (script %d, flags 0x%x)",
	    Tcl_GetChannelName(tc->self), mask, tc->watchMask, tc->flags);
    if (watch != NULL) {
	watch(Tcl_GetChannelInstanceData(tc->lower), mask);
    }
}

/*
 * DataReady --
 *	1 when a read would return at once: plaintext or a whole record is
 *	held, EOF was seen, or a failure waits to be reported.
 */
static int
DataReady(TlsChannel *tc)
{
    if (tc->flags & (TLS_FAILED | TLS_EOF)) {
	return 1;
    }
    return (tc->flags & TLS_OPEN) && (tc->engine.plainIn.len > 0
	    || Engine_HasWholeRecord(&tc->engine)
	    || tc->engine.state == ENGINE_CLOSED);
}

/*
 * ScheduleNotify --
 *	Arms (or disarms) the timer that reports data held in the engine.
 */
static void
ScheduleNotify(TlsChannel *tc)
{
    if ((tc->watchMask & TCL_READABLE) && DataReady(tc)
	    && (tc->flags & (TLS_OPEN | TLS_FAILED))) {
	if (tc->notifyTimer == NULL) {
	    tc->notifyTimer = Tcl_CreateTimerHandler(0, NotifyTimerProc, tc);
	}
    } else if (tc->notifyTimer != NULL) {
	Tcl_DeleteTimerHandler(tc->notifyTimer);
	tc->notifyTimer = NULL;
    }
}

static void
NotifyTimerProc(void *clientData)
{
    TlsChannel *tc = clientData;
    tc->notifyTimer = NULL;
    if ((tc->watchMask & TCL_READABLE) && DataReady(tc)) {
	Tcl_NotifyChannel(tc->self, TCL_READABLE);
    }
}

/*
 *----------------------------------------------------------------------
 * The handshake.
 *----------------------------------------------------------------------
 */

/*
 * DecryptReceived --
 *	Decrypts what the socket delivered, stores a failure, checks a
 *	completed renegotiation, and sends what the engine produced (handshake
 *	answers; all of it when `block`).
 */
static void
DecryptReceived(TlsChannel *tc, int block)
{
    if (Engine_Decrypt(&tc->engine) != SEC_E_OK) {
	TlsChannel_FailStatus(tc, "READ", tc->engine.error, "TLS read failed");
    } else if (tc->engine.reopened) {
	PeerCheck_Renegotiated(tc);
    }
    FlushCipher(tc, block);
}

/*
 * HandshakeError --
 *	Stores the failure of a handshake step: EOF or an SSPI status.
 */
static void
HandshakeError(TlsChannel *tc, long status, int eof)
{
    if (eof) {
	TlsChannel_FailSimple(tc, "HANDSHAKE", "EOF",
		"SSL/TLS negotiation failed: unexpected EOF during TLS negotiation");
    } else if (status != 0 && tc->engine.peerAlert >= 0) {
	const char *name = Engine_AlertName(tc->engine.peerAlert);
	char context[160];
	snprintf(context, sizeof(context), "SSL/TLS negotiation failed: the"
		" peer sent a fatal alert, %s (%d)", name ? name : "unknown",
		tc->engine.peerAlert);
	TlsChannel_FailStatus(tc, "HANDSHAKE", status, context);
    } else if (status != 0) {
	TlsChannel_FailStatus(tc, "HANDSHAKE", status, "SSL/TLS negotiation failed");
    } else {
	FailSocket(tc, "HANDSHAKE", "SSL/TLS negotiation failed");
    }
}

/*
 * StepHandshake --
 *	Advances the handshake, sending what the engine produced. With
 *	`readFirst` it first reads from the socket. Blocking: loops until the
 *	handshake ends. Non-blocking: reads at most once (one event, one read,
 *	so a blocking socket is never read when it has nothing). Returns 1
 *	when the handshake finished, 0 when it waits for the socket, -1 on
 *	failure (stored).
 */
static int
StepHandshake(TlsChannel *tc, int readFirst, int block)
{
    tc->flags |= TLS_STARTED;
    for (;;) {
	if (readFirst) {
	    int n = ReadSocket(tc);
	    if (n == 0) {
		HandshakeError(tc, 0, 1);
		return -1;
	    }
	    if (n < 0) {
		int err = Tcl_GetErrno();
		if (err == EAGAIN || err == EWOULDBLOCK) {
		    return 0;
		}
		HandshakeError(tc, 0, 0);
		return -1;
	    }
	}
	SECURITY_STATUS status = Engine_Handshake(&tc->engine);
	TRACE("%s handshake step: 0x%08lx, %u bytes to send, %u left",
		Tcl_GetChannelName(tc->self), (unsigned long) status,
		(unsigned) tc->engine.cipherOut.len,
		(unsigned) tc->engine.cipherIn.len);
	if (FlushCipher(tc, block) < 0 && status == ENGINE_WANT_INPUT) {
	    HandshakeError(tc, 0, 0);
	    return -1;
	}
	if (status == SEC_E_OK) {
	    return 1;
	}
	if (status != ENGINE_WANT_INPUT) {
	    FlushCipher(tc, 0);		/* The alert, if the socket takes it. */
	    HandshakeError(tc, status, 0);
	    return -1;
	}
	if (!block) {
	    if (tc->engine.cipherIn.len == 0) {
		TrimIdleBuffers(tc);	/* The peer may be slow, or silent. */
	    }
	    UpdateSocketInterest(tc);
	    return 0;
	}
	readFirst = 1;
    }
}

/*
 * RunDone --
 *	Calls the done callback once (ok: 1 open, 0 failed, -1 closed first).
 */
static void
RunDone(TlsChannel *tc, int ok)
{
    if (tc->doneProc != NULL) {
	void (*done)(TlsChannel *, int, void *) = tc->doneProc;
	tc->doneProc = NULL;
	done(tc, ok, tc->doneData);
    }
}

/*
 * TlsChannel_Handshake --
 *	Drives the handshake for a script: 1 when the channel is open, 0 while
 *	it negotiates in non-blocking mode, -1 with the failure in interp. In
 *	blocking mode it completes the handshake and the verification with
 *	blocking reads; the done callback, if any, is then called with -1.
 */
int
TlsChannel_Handshake(Tcl_Interp *interp, TlsChannel *tc)
{
    if (tc->flags & TLS_VERIFYING) {
	/* Called from the verifier itself (its own I/O or tls_handshake):
	 * the channel opens only when the verifier returns. */
	if (interp != NULL) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj(VERIFYING_MESSAGE, -1));
	    Tcl_SetErrorCode(interp, "SCHANNEL", "VERIFY", "INPROGRESS", NULL);
	}
	return -1;
    }
    if (tc->interp == NULL && interp != NULL) {
	/* Moved from another thread while negotiating: the verifier runs in
	 * the interpreter that drives the handshake here. */
	tc->interp = interp;
    }
    /* The verifier may close the channel: keep tc until we are done. */
    Tcl_Preserve(tc);
    if (!(tc->flags & (TLS_OPEN | TLS_FAILED)) && !(tc->flags & TLS_NONBLOCKING)) {
	if (tc->doneTimer != NULL) {
	    Tcl_DeleteTimerHandler(tc->doneTimer);
	    tc->doneTimer = NULL;
	}
	int done = (tc->flags & TLS_DONE_POSTED) ? 1
		: StepHandshake(tc, (tc->flags & TLS_STARTED) != 0, 1);
	tc->flags |= TLS_DONE_POSTED;
	if (done == 1) {
	    PeerCheck_Open(tc);
	}
	if (!(tc->flags & TLS_CLOSING)) {
	    if ((tc->flags & TLS_OPEN) && tc->engine.cipherOut.len > 0) {
		FlushCipher(tc, 1);
	    }
	    UpdateSocketInterest(tc);
	    /* The script sees the result of this call itself: the done
	     * callback only releases its data (no events from inside I/O). */
	    RunDone(tc, -1);
	}
    }
    int result = (tc->flags & TLS_OPEN) ? 1 : 0;
    if (tc->flags & TLS_FAILED) {
	if (interp != NULL) {
	    Tcl_SetObjResult(interp, tc->error);
	    Tcl_SetObjErrorCode(interp, Tcl_DuplicateObj(tc->errorCode));
	}
	result = -1;
    }
    Tcl_Release(tc);
    return result;
}

/*
 * TlsChannel_StartBackground --
 *	Lets the event loop drive the handshake, in the channel's current
 *	blocking mode; a client starts once the socket is writable (connected).
 *	When it ends (verified, or failed), done(tc, ok, data) is called from a
 *	timer; ok is -1 when the channel was closed first or the script
 *	completed the handshake itself (blocking I/O or tls_handshake).
 */
void
TlsChannel_StartBackground(TlsChannel *tc,
	void (*done)(TlsChannel *tc, int ok, void *data), void *data)
{
    tc->doneProc = done;
    tc->doneData = data;
    tc->flags |= TLS_BACKGROUND;
    UpdateSocketInterest(tc);
    if (Tcl_ChannelBuffered(tc->lower) > 0 && tc->kickTimer == NULL) {
	/* The peer's first handshake bytes were read into Tcl's buffer with
	 * the last line before starttls (a pipelining peer): the socket will
	 * not report them again. */
	tc->kickTimer = Tcl_CreateTimerHandler(0, KickTimerProc, tc);
    }
}

/*
 * KickTimerProc --
 *	Steps a background handshake on input already buffered below us, as
 *	if the socket had reported it.
 */
static void
KickTimerProc(void *clientData)
{
    TlsChannel *tc = clientData;
    tc->kickTimer = NULL;
    if (!(tc->flags & (TLS_CLOSING | TLS_OPEN | TLS_FAILED))
	    && Tcl_ChannelBuffered(tc->lower) > 0) {
	Tcl_NotifyChannel(tc->lower, TCL_READABLE);
    }
}

/*
 * DoneTimerProc --
 *	End of a background handshake, run from the event loop: verification
 *	(which may run the verifier script), then the done callback.
 */
static void
DoneTimerProc(void *clientData)
{
    TlsChannel *tc = clientData;
    tc->doneTimer = NULL;
    Tcl_Preserve(tc);
    if (!(tc->flags & TLS_FAILED)) {
	PeerCheck_Open(tc);
    }
    if (!(tc->flags & TLS_CLOSING)) {
	if (tc->flags & TLS_OPEN) {
	    FlushCipher(tc, 0);
	}
	UpdateSocketInterest(tc);
	ScheduleNotify(tc);
	if (tc->flags & TLS_DONE_DROPPED) {
	    /* Moved to another thread while negotiating: what the done
	     * callback would have told the script (writable when open,
	     * readable and writable when failed). */
	    tc->flags &= ~TLS_DONE_DROPPED;
	    Tcl_NotifyChannel(tc->self, (tc->flags & TLS_OPEN)
		    ? TCL_WRITABLE : (TCL_READABLE | TCL_WRITABLE));
	} else {
	    RunDone(tc, (tc->flags & TLS_OPEN) != 0);
	}
    }
    Tcl_Release(tc);
}

/*
 *----------------------------------------------------------------------
 * Driver procedures.
 *----------------------------------------------------------------------
 */

/*
 * ReportFailure --
 *	Makes the stored failure the channel's error for the current
 *	operation. Returns -1 with *errorCodePtr set, for driver procedures.
 */
static int
ReportFailure(TlsChannel *tc, int *errorCodePtr)
{
    /* The channel error is a list: options, then the message. */
    Tcl_Obj *report[7] = {
	Tcl_NewStringObj("-code", -1), Tcl_NewIntObj(TCL_ERROR),
	Tcl_NewStringObj("-level", -1), Tcl_NewIntObj(0),
	Tcl_NewStringObj("-errorcode", -1), tc->errorCode, tc->error
    };
    Tcl_SetChannelError(tc->self, Tcl_NewListObj(7, report));
    *errorCodePtr = ECONNABORTED;
    return -1;
}

/*
 * NoteSocketEnd --
 *	The socket below reached its end (or was reset) while open. Between
 *	records that is end-of-file, as for servers that never send
 *	close_notify; inside a record it is truncated data, and an error.
 */
static void
NoteSocketEnd(TlsChannel *tc)
{
    if (tc->engine.cipherIn.len > 0 && tc->engine.state == ENGINE_OPEN
	    && !(tc->flags & TLS_FAILED)) {
	TlsChannel_FailSimple(tc, "READ", "TRUNCATED", "TLS read failed:"
		" the connection closed in the middle of a TLS record (data was cut off)");
	return;
    }
    if (tc->engine.skippedAlert != 0 && tc->engine.state == ENGINE_OPEN
	    && !(tc->flags & TLS_FAILED)) {
	/* The last record was an alert the platform could not report, and
	 * no close_notify followed: most likely a fatal alert. */
	TlsChannel_FailStatus(tc, "READ", tc->engine.skippedAlert,
		"TLS read failed: the peer sent an alert and closed the connection");
	return;
    }
    tc->flags |= TLS_EOF;
}

/*
 * SocketWriteError --
 *	Stores the failure of sending queued ciphertext of an open channel
 *	(the peer is gone): later writes report it instead of queueing more.
 */
static void
SocketWriteError(TlsChannel *tc)
{
    FailSocket(tc, "WRITE", "TLS write failed");
}

/*
 * EnsureOpen --
 *	Before I/O: in blocking mode finishes a pending handshake; in
 *	non-blocking mode reports EAGAIN while negotiating. Returns 1 when the
 *	channel is open, 0 (EAGAIN) or -1 (failure) otherwise.
 */
static int
EnsureOpen(TlsChannel *tc, int *errorCodePtr)
{
    if (tc->flags & TLS_VERIFYING) {
	Tcl_Obj *report[7] = {
	    Tcl_NewStringObj("-code", -1), Tcl_NewIntObj(TCL_ERROR),
	    Tcl_NewStringObj("-level", -1), Tcl_NewIntObj(0),
	    Tcl_NewStringObj("-errorcode", -1),
	    Tcl_NewStringObj("SCHANNEL VERIFY INPROGRESS", -1),
	    Tcl_NewStringObj(VERIFYING_MESSAGE, -1)
	};
	Tcl_SetChannelError(tc->self, Tcl_NewListObj(7, report));
	*errorCodePtr = ENOTCONN;
	return -1;
    }
    Tcl_Preserve(tc);
    int state = TlsChannel_Handshake(NULL, tc);
    if (state < 0) {
	if (tc->flags & TLS_CLOSING) {
	    *errorCodePtr = EBADF;	/* The verifier closed the channel. */
	} else {
	    ReportFailure(tc, errorCodePtr);
	}
    } else if (state == 0) {
	*errorCodePtr = EAGAIN;
    }
    Tcl_Release(tc);
    return state;
}

/*
 * TlsInputProc --
 *	Delivers decrypted data. Returns bytes (> 0), 0 only at EOF, or -1
 *	with EAGAIN while nothing is decrypted yet (non-blocking, negotiating
 *	or a partial record), or -1 with the stored error.
 */
static int
TlsInputProc(void *instanceData, char *buf, int toRead, int *errorCodePtr)
{
    TlsChannel *tc = instanceData;
    TlsEngine *e = &tc->engine;
    int open = EnsureOpen(tc, errorCodePtr);
    if (open <= 0) {
	return -1;
    }
    for (;;) {
	if (e->plainIn.len > 0) {
	    int n = (int) ByteBuf_Take(&e->plainIn, buf, (size_t) toRead);
	    if (e->plainIn.len == 0 && e->cipherIn.len == 0) {
		/* Caught up with the peer (a read rarely ends on a record
		 * boundary while more is on its way): a connection that now
		 * goes idle, e.g. kept alive after a response, holds none. */
		ByteBuf_Trim(&e->plainIn);
		ByteBuf_Trim(&e->cipherIn);
	    }
	    return n;
	}
	if ((tc->flags & TLS_EOF) || e->state == ENGINE_CLOSED) {
	    tc->flags |= TLS_EOF;
	    return 0;
	}
	if (tc->flags & TLS_FAILED) {
	    return ReportFailure(tc, errorCodePtr);
	}
	if (Engine_HasWholeRecord(e) && e->state == ENGINE_OPEN) {
	    DecryptReceived(tc, !(tc->flags & TLS_NONBLOCKING));
	    continue;
	}
	int n = ReadSocket(tc);
	if (n > 0) {
	    DecryptReceived(tc, !(tc->flags & TLS_NONBLOCKING));
	    continue;
	}
	if (n == 0) {
	    NoteSocketEnd(tc);
	    continue;
	}
	*errorCodePtr = Tcl_GetErrno();
	if (*errorCodePtr == EWOULDBLOCK) {
	    *errorCodePtr = EAGAIN;
	}
	return -1;
    }
}

/*
 * TlsOutputProc --
 *	Encrypts and sends data. All of it is accepted unless the ciphertext
 *	queue is full (non-blocking: EAGAIN, nothing accepted). Returns the
 *	number of bytes accepted or -1 with an error code.
 */
static int
TlsOutputProc(void *instanceData, const char *buf, int toWrite,
	int *errorCodePtr)
{
    TlsChannel *tc = instanceData;
    TlsEngine *e = &tc->engine;

    if (tc->flags & TLS_WRITE_CLOSED) {
	*errorCodePtr = EPIPE;
	return -1;
    }
    if (tc->flags & TLS_FAILED) {
	return ReportFailure(tc, errorCodePtr);
    }
    if (!(tc->flags & TLS_OPEN) && !(tc->flags & TLS_NONBLOCKING)) {
	if (EnsureOpen(tc, errorCodePtr) <= 0) {
	    return -1;
	}
    }
    int nonblocking = (tc->flags & TLS_NONBLOCKING) != 0;
    /* Plaintext written before the channel is open waits in plainOut: it
     * counts against the same bound. */
    if (nonblocking && e->cipherOut.len + e->plainOut.len >= CIPHER_HIGH_WATER) {
	if (FlushCipher(tc, 0) < 0) {
	    *errorCodePtr = Tcl_GetErrno();
	    return -1;
	}
	if (e->cipherOut.len + e->plainOut.len >= CIPHER_HIGH_WATER) {
	    UpdateSocketInterest(tc);
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
    }
    SECURITY_STATUS status = Engine_Encrypt(e, buf, (size_t) toWrite);
    if (status == SEC_E_CONTEXT_EXPIRED) {
	*errorCodePtr = EPIPE;		/* The session is closed for writing. */
	return -1;
    }
    if (status != SEC_E_OK) {
	TlsChannel_FailStatus(tc, "WRITE", status, "TLS write failed");
	return ReportFailure(tc, errorCodePtr);
    }
    if ((tc->flags & TLS_OPEN) && FlushCipher(tc, !nonblocking) < 0) {
	*errorCodePtr = Tcl_GetErrno();
	return -1;
    }
    if (e->cipherOut.len > 0) {
	UpdateSocketInterest(tc);
    }
    return toWrite;
}

/*
 * TlsBlockModeProc --
 *	Records the blocking mode (Tcl applies it to the socket below too).
 */
static int
TlsBlockModeProc(void *instanceData, int mode)
{
    TlsChannel *tc = instanceData;
    if (mode == TCL_MODE_NONBLOCKING) {
	tc->flags |= TLS_NONBLOCKING;
    } else {
	tc->flags &= ~TLS_NONBLOCKING;
    }
    return 0;
}

/*
 * TlsWatchProc --
 *	Called by Tcl when the script's interest changes: forwards what we
 *	need to the socket and arms the timer for data held in the engine.
 */
static void
TlsWatchProc(void *instanceData, int mask)
{
    TlsChannel *tc = instanceData;
    tc->watchMask = mask;
    UpdateSocketInterest(tc);
    ScheduleNotify(tc);
}

/*
 * TlsHandlerProc --
 *	Called when the socket below has an event. Steps a background
 *	handshake, drains queued ciphertext, and reads and decrypts what
 *	arrived. Returns the events to pass on to the script: readable only
 *	when a read will return something, writable only when open and the
 *	ciphertext queue is short.
 */
static int
TlsHandlerProc(void *instanceData, int mask)
{
    TlsChannel *tc = instanceData;
    int result = 0;

    TRACE("%s handler mask %d flags 0x%x", Tcl_GetChannelName(tc->self),
	    mask, tc->flags);
    if (tc->flags & TLS_CLOSING) {
	return 0;
    }
    if ((mask & TCL_WRITABLE) && tc->engine.cipherOut.len > 0
	    && FlushCipher(tc, 0) < 0) {
	if (tc->flags & TLS_OPEN) {
	    SocketWriteError(tc);
	} else {
	    HandshakeError(tc, 0, 0);
	}
	/* What the socket refused for good can never be sent. */
	ByteBuf_Free(&tc->engine.cipherOut);
    }
    if ((tc->flags & TLS_BACKGROUND)
	    && !(tc->flags & (TLS_OPEN | TLS_FAILED | TLS_DONE_POSTED))) {
	int step = 0;
	if (!(tc->flags & (TLS_SERVER | TLS_STARTED))) {
	    if (mask & TCL_WRITABLE) {
		step = StepHandshake(tc, 0, 0);
	    }
	} else if (mask & TCL_READABLE) {
	    step = StepHandshake(tc, 1, 0);
	}
	if (step != 0) {
	    tc->flags |= TLS_DONE_POSTED;
	    tc->doneTimer = Tcl_CreateTimerHandler(0, DoneTimerProc, tc);
	}
	UpdateSocketInterest(tc);
	return 0;
    }
    if (!(tc->flags & (TLS_OPEN | TLS_FAILED))) {
	return 0;	/* Verification pending: nothing for the script yet. */
    }
    if ((mask & TCL_READABLE) && (tc->flags & TLS_OPEN) && !DataReady(tc)) {
	int n = ReadSocket(tc);
	if (n > 0) {
	    DecryptReceived(tc, 0);
	} else if (n == 0) {
	    NoteSocketEnd(tc);
	} else if (Tcl_GetErrno() != EAGAIN && Tcl_GetErrno() != EWOULDBLOCK) {
	    NoteSocketEnd(tc);		/* Reset or error: reads end. */
	}
    }
    if ((mask & TCL_READABLE) && DataReady(tc)) {
	result |= TCL_READABLE;
	if (tc->notifyTimer != NULL) {
	    Tcl_DeleteTimerHandler(tc->notifyTimer);
	    tc->notifyTimer = NULL;
	}
    }
    if ((mask & TCL_WRITABLE) && ((tc->flags & TLS_FAILED)
	    || tc->engine.cipherOut.len < CIPHER_HIGH_WATER)) {
	/* A failed channel is writable too: the next write (or Tcl's
	 * background flush of a closed channel) gets the error. */
	result |= TCL_WRITABLE;
    }
    UpdateSocketInterest(tc);
    return result;
}

/*
 * FreeTlsChannel --
 *	Frees the state once no timer or callback uses it (Tcl_EventuallyFree).
 */
static void
FreeTlsChannel(char *blockPtr)
{
    TlsChannel *tc = (TlsChannel *) blockPtr;
    if (tc->verifier) {
	Tcl_DecrRefCount(tc->verifier);
    }
    if (tc->error) {
	Tcl_DecrRefCount(tc->error);
	Tcl_DecrRefCount(tc->errorCode);
    }
    Tcl_DecrRefCount(tc->contextName);
    if (tc->peerSubject) {
	ckfree(tc->peerSubject);
    }
    ckfree(tc);
}

static void	DrainWithDeadline(TlsChannel *tc, int ms);

/*
 * SendCloseNotify --
 *	Queues our close_notify once and sends it with what else is queued.
 *	Best effort: a peer that is gone is not an error.
 */
static void
SendCloseNotify(TlsChannel *tc)
{
    if (!(tc->flags & TLS_WRITE_CLOSED) && (tc->flags & TLS_OPEN)) {
	Engine_Shutdown(&tc->engine);
    }
    tc->flags |= TLS_WRITE_CLOSED;
    if (tc->engine.cipherOut.len == 0) {
	return;
    }
    if (tc->flags & TLS_NONBLOCKING) {
	DrainWithDeadline(tc, CLOSE_DRAIN_MS);
	return;
    }
    /* A blocking channel blocks until its output is sent, as a blocking
     * socket's close does. */
    Tcl_DriverBlockModeProc *blockMode =
	    Tcl_ChannelBlockModeProc(Tcl_GetChannelType(tc->lower));
    if (blockMode) {
	blockMode(Tcl_GetChannelInstanceData(tc->lower), TCL_MODE_BLOCKING);
    }
    FlushCipher(tc, 1);
}

/*
 * DrainWithDeadline --
 *	Sends queued ciphertext of a non-blocking channel, waiting for the
 *	socket to become writable, for at most `ms` in all; what a peer that
 *	does not read leaves unsent after that is dropped (Tcl may be closing
 *	the channel from its event loop, which must not stop for good).
 */
static void
DrainWithDeadline(TlsChannel *tc, int ms)
{
    ClientData handle = NULL;
    Tcl_Time now, deadline;
    Tcl_GetTime(&deadline);
    deadline.sec += ms / 1000;
    deadline.usec += (ms % 1000) * 1000;

    if (Tcl_GetChannelHandle(tc->lower, TCL_WRITABLE, &handle) != TCL_OK) {
	handle = NULL;
    }
    while (tc->engine.cipherOut.len > 0) {
	if (FlushCipher(tc, 0) < 0 || tc->engine.cipherOut.len == 0) {
	    break;
	}
	Tcl_GetTime(&now);
	long left = (deadline.sec - now.sec) * 1000
		+ (deadline.usec - now.usec) / 1000;
	if (left <= 0 || handle == NULL) {
	    TRACE("%s close: %lu bytes of ciphertext dropped",
		    Tcl_GetChannelName(tc->self),
		    (unsigned long) tc->engine.cipherOut.len);
	    break;
	}
	SOCKET sock = (SOCKET) (size_t) handle;
	fd_set writable;
	FD_ZERO(&writable);
	FD_SET(sock, &writable);
	struct timeval wait = {left / 1000, (left % 1000) * 1000};
	if (select(0, NULL, &writable, NULL, &wait) < 0) {
	    break;
	}
    }
}

/*
 * TlsChannel_HalfClose --
 *	Closes the write side: flushes buffered output, sends close_notify and
 *	shuts the socket's write side; reading continues. (Tcl 8.6 refuses
 *	`close $chan write` on any stacked channel before asking the driver,
 *	so tls_close and the extended close of halfclose.c call this.)
 *	Returns TCL_OK or TCL_ERROR with a message in interp.
 */
int
TlsChannel_HalfClose(Tcl_Interp *interp, TlsChannel *tc)
{
    if (tc->flags & TLS_WRITE_CLOSED) {
	return TCL_OK;
    }
    if (Tcl_GetTopChannel(tc->self) != tc->self) {
	/* What a transformation above still holds would be cut off. */
	return Error_Simple(interp, "CHANNEL", "STACKED", "cannot half-close:"
		" a transformation is stacked above the TLS channel");
    }
    if (!(tc->flags & TLS_OPEN)) {
	return Error_Simple(interp, "CHANNEL", "NOTOPEN", (tc->flags & TLS_FAILED)
		? "cannot half-close: the TLS negotiation failed"
		: "cannot half-close before the TLS negotiation completed");
    }
    /* Everything written so far goes before our close_notify. A
     * non-blocking flush would leave output queued in Tcl (to fail after
     * the close_notify), so this flush blocks, as close of a blocking
     * socket does. */
    int nonblocking = (tc->flags & TLS_NONBLOCKING) != 0;
    if (nonblocking) {
	Tcl_SetChannelOption(NULL, tc->self, "-blocking", "1");
    }
    int flushed = Tcl_Flush(tc->self);
    if (nonblocking) {
	Tcl_SetChannelOption(NULL, tc->self, "-blocking", "0");
    }
    if (flushed != TCL_OK) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("error flushing \"%s\": %s",
		Tcl_GetChannelName(tc->self), Tcl_PosixError(interp)));
	return TCL_ERROR;
    }
    Tcl_ResetResult(interp);
    int err = TlsClose2Proc(tc, interp, TCL_CLOSE_WRITE);
    if (err == 0) {
	return TCL_OK;
    }
    /* The channel below refused to close its write side (it returns an
     * errno value, usually without a message). */
    if (*Tcl_GetStringResult(interp) == '\0') {
	Tcl_SetErrno(err);
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"error closing the write side of \"%s\": %s",
		Tcl_GetChannelName(tc->self), Tcl_PosixError(interp)));
    }
    return TCL_ERROR;
}

/*
 * TlsClose2Proc --
 *	Full close: sends close_notify and queued data, frees every SSPI
 *	resource; Tcl then closes the socket below. Half close (write): sends
 *	close_notify and shuts the socket's write side; reading continues.
 */
static int
TlsClose2Proc(void *instanceData, Tcl_Interp *interp, int flags)
{
    TlsChannel *tc = instanceData;

    if (flags & TCL_CLOSE_READ) {
	return 0;
    }
    if (flags & TCL_CLOSE_WRITE) {
	SendCloseNotify(tc);
	Tcl_DriverClose2Proc *close2 =
		Tcl_ChannelClose2Proc(Tcl_GetChannelType(tc->lower));
	return close2 ? close2(Tcl_GetChannelInstanceData(tc->lower), interp,
		TCL_CLOSE_WRITE) : 0;
    }
    tc->flags |= TLS_CLOSING;
    if (tc->notifyTimer) {
	Tcl_DeleteTimerHandler(tc->notifyTimer);
    }
    if (tc->doneTimer) {
	Tcl_DeleteTimerHandler(tc->doneTimer);
    }
    if (tc->kickTimer) {
	Tcl_DeleteTimerHandler(tc->kickTimer);
    }
    tc->notifyTimer = tc->doneTimer = tc->kickTimer = NULL;
    SendCloseNotify(tc);
    Tcl_DriverWatchProc *watch = Tcl_ChannelWatchProc(Tcl_GetChannelType(tc->lower));
    if (watch) {
	watch(Tcl_GetChannelInstanceData(tc->lower), 0);
    }
    Engine_Free(&tc->engine);
    if (tc->peerCert != NULL) {
	CertFreeCertificateContext(tc->peerCert);
	tc->peerCert = NULL;
    }
    Stats_Add(STAT_CONTEXTS, -1);
    Stats_Add(STAT_CHANNELS, -1);
    Cred_Release(tc->cred);
    tc->cred = NULL;
    Handle_ForgetPtr(HANDLE_CONTEXT, tc);
    if (tc->doneProc != NULL) {
	/* Closed before the handshake ended: let the owner free its data. */
	void (*done)(TlsChannel *, int, void *) = tc->doneProc;
	tc->doneProc = NULL;
	done(tc, -1, tc->doneData);
    }
    Tcl_EventuallyFree(tc, FreeTlsChannel);
    return 0;
}

/*
 * LowerGetOption --
 *	Asks the socket below for an option (or all of them).
 */
static int
LowerGetOption(TlsChannel *tc, Tcl_Interp *interp, const char *name,
	Tcl_DString *ds)
{
    Tcl_DriverGetOptionProc *get =
	    Tcl_ChannelGetOptionProc(Tcl_GetChannelType(tc->lower));
    if (get == NULL) {
	return name ? Tcl_BadChannelOption(interp, name,
		"credentials context verifier") : TCL_OK;
    }
    return get(Tcl_GetChannelInstanceData(tc->lower), interp, name, ds);
}

/*
 * TlsGetOptionProc --
 *	-credentials, -context, -verifier (read-only), -error (the stored
 *	failure, else the socket's), and every option of the socket.
 */
static int
TlsGetOptionProc(void *instanceData, Tcl_Interp *interp,
	const char *optionName, Tcl_DString *ds)
{
    TlsChannel *tc = instanceData;
    const char *values[3] = {
	tc->cred && tc->cred->name ? tc->cred->name : "",
	Tcl_GetString(tc->contextName),
	tc->verifier ? Tcl_GetString(tc->verifier) : ""
    };
    if (optionName == NULL) {
	for (int i = 0; ownOptions[i]; i++) {
	    Tcl_DStringAppendElement(ds, ownOptions[i]);
	    Tcl_DStringAppendElement(ds, values[i]);
	}
	return LowerGetOption(tc, interp, NULL, ds);
    }
    for (int i = 0; ownOptions[i]; i++) {
	if (strcmp(optionName, ownOptions[i]) == 0) {
	    Tcl_DStringAppend(ds, values[i], -1);
	    return TCL_OK;
	}
    }
    if (strcmp(optionName, "-error") == 0 && (tc->flags & TLS_FAILED)) {
	Tcl_DStringAppend(ds, Tcl_GetString(tc->error), -1);
	return TCL_OK;
    }
    return LowerGetOption(tc, interp, optionName, ds);
}

/*
 * TlsSetOptionProc --
 *	Our options are read-only; the rest go to the socket.
 */
static int
TlsSetOptionProc(void *instanceData, Tcl_Interp *interp,
	const char *optionName, const char *value)
{
    TlsChannel *tc = instanceData;
    for (int i = 0; ownOptions[i]; i++) {
	if (strcmp(optionName, ownOptions[i]) == 0) {
	    if (interp) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"option \"%s\" is read-only", optionName));
		Tcl_SetErrorCode(interp, "SCHANNEL", "OPTION", "READONLY",
			optionName, NULL);
	    }
	    return TCL_ERROR;
	}
    }
    Tcl_DriverSetOptionProc *set =
	    Tcl_ChannelSetOptionProc(Tcl_GetChannelType(tc->lower));
    if (set == NULL) {
	return Tcl_BadChannelOption(interp, optionName, "");
    }
    return set(Tcl_GetChannelInstanceData(tc->lower), interp, optionName, value);
}

/*
 * TlsGetHandleProc --
 *	The OS handle is the socket's.
 */
static int
TlsGetHandleProc(void *instanceData, int direction, void **handlePtr)
{
    TlsChannel *tc = instanceData;
    return Tcl_GetChannelHandle(tc->lower, direction, handlePtr);
}

/*
 * TlsThreadActionProc --
 *	The channel moves between threads: timers belong to the thread that
 *	made them, so they are dropped here; the notifier's is re-armed by
 *	the next watch, the handshake's completion in the new thread.
 */
static void
TlsThreadActionProc(void *instanceData, int action)
{
    TlsChannel *tc = instanceData;
    if (action == TCL_CHANNEL_THREAD_REMOVE) {
	/* The interpreter that made the channel stays in this thread: the
	 * new thread must never call into it (verifier, background errors).
	 * The owner of a background handshake frees its record here, in its
	 * own thread; the channel then reports the end of the handshake to
	 * the new thread's handlers itself. */
	tc->interp = NULL;
	if (tc->doneProc != NULL) {
	    RunDone(tc, -1);
	    tc->flags |= TLS_DONE_DROPPED;
	}
	if (tc->notifyTimer) {
	    Tcl_DeleteTimerHandler(tc->notifyTimer);
	    tc->notifyTimer = NULL;
	}
	if (tc->kickTimer) {
	    Tcl_DeleteTimerHandler(tc->kickTimer);
	    tc->kickTimer = NULL;
	    tc->flags |= TLS_KICK_MOVED;
	}
	if (tc->doneTimer) {
	    /* The end of the handshake runs in the new thread instead. */
	    Tcl_DeleteTimerHandler(tc->doneTimer);
	    tc->doneTimer = NULL;
	    tc->flags |= TLS_DONE_MOVED;
	}
    } else {
	tc->owner = Tcl_GetCurrentThread();
	if (tc->flags & TLS_KICK_MOVED) {
	    tc->flags &= ~TLS_KICK_MOVED;
	    tc->kickTimer = Tcl_CreateTimerHandler(0, KickTimerProc, tc);
	}
	if (tc->flags & TLS_DONE_MOVED) {
	    tc->flags &= ~TLS_DONE_MOVED;
	    tc->doneTimer = Tcl_CreateTimerHandler(0, DoneTimerProc, tc);
	}
    }
}

/*
 *----------------------------------------------------------------------
 * Creation and queries.
 *----------------------------------------------------------------------
 */

/*
 * TlsChannel_Stack --
 *	Stacks a TLS channel over `lower` (which keeps its name). The channel
 *	takes a reference to the credentials. The handshake is started by
 *	TlsChannel_Handshake or TlsChannel_StartBackground. Returns
 *	the state, or NULL with an error in interp.
 */
TlsChannel *
TlsChannel_Stack(Tcl_Interp *interp, Tcl_Channel lower,
	const TlsChannelConfig *config)
{
    TlsChannel *tc = (TlsChannel *) ckalloc(sizeof(TlsChannel));
    memset(tc, 0, sizeof(*tc));
    if (!Engine_Init(&tc->engine, &config->cred->handle, config->isServer,
	    (config->isServer || Verify_IsIpLiteral(config->peerSubject))
		    ? NULL : config->peerSubject,	/* SNI: DNS names only. */
	    config->requestClientCert)) {
	ckfree(tc);
	Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	return NULL;
    }
    tc->interp = interp;
    tc->owner = Tcl_GetCurrentThread();
    tc->cred = config->cred;
    Cred_Retain(tc->cred);
    tc->flags = config->isServer ? TLS_SERVER : 0;
    tc->readSize = READ_MIN;
    if (config->peerSubject) {
	tc->peerSubject = ckalloc(strlen(config->peerSubject) + 1);
	strcpy(tc->peerSubject, config->peerSubject);
    }
    if (config->verifier && Tcl_GetCharLength(config->verifier) > 0) {
	tc->verifier = config->verifier;
	Tcl_IncrRefCount(tc->verifier);
    }
    tc->contextName = Handle_New(NULL, HANDLE_CONTEXT, tc);
    Tcl_IncrRefCount(tc->contextName);
    int blocking = 1;
    Tcl_DString ds;
    Tcl_DStringInit(&ds);
    if (Tcl_GetChannelOption(NULL, lower, "-blocking", &ds) == TCL_OK) {
	Tcl_GetBoolean(NULL, Tcl_DStringValue(&ds), &blocking);
    }
    Tcl_DStringFree(&ds);
    if (!blocking) {
	tc->flags |= TLS_NONBLOCKING;
    }
    tc->self = Tcl_StackChannel(interp, &tlsChannelType, tc,
	    TCL_READABLE | TCL_WRITABLE, lower);
    if (tc->self == NULL) {
	Handle_ForgetPtr(HANDLE_CONTEXT, tc);
	Engine_Free(&tc->engine);
	Cred_Release(tc->cred);
	Tcl_DecrRefCount(tc->contextName);
	if (tc->verifier) {
	    Tcl_DecrRefCount(tc->verifier);
	}
	if (tc->peerSubject) {
	    ckfree(tc->peerSubject);
	}
	ckfree(tc);
	return NULL;
    }
    tc->lower = Tcl_GetStackedChannel(tc->self);
    /*
     * Tcl hands the output procedure at most one buffer at a time, and each
     * call becomes records and a socket write: with Tcl's default 4 KiB,
     * large writes would go out as quarter-full records. A buffer of one
     * maximal record fills them (the script may still set -buffersize;
     * starttls keeps the size the wrapped channel had, as documented).
     */
    if (!config->keepBufferSize
	    && Tcl_GetChannelBufferSize(tc->self) < TLS_MAX_PLAINTEXT) {
	Tcl_SetChannelBufferSize(tc->self, TLS_MAX_PLAINTEXT);
    }
    Stats_Add(STAT_CONTEXTS, 1);
    Stats_Add(STAT_CHANNELS, 1);
    return tc;
}

Tcl_Channel
TlsChannel_Channel(TlsChannel *tc)
{
    return tc->self;
}

TlsEngine *
TlsChannel_Engine(TlsChannel *tc)
{
    return &tc->engine;
}

Cred *
TlsChannel_Cred(TlsChannel *tc)
{
    return tc->cred;
}

Tcl_Obj *
TlsChannel_Error(TlsChannel *tc)
{
    return (tc->flags & TLS_FAILED) ? tc->error : NULL;
}

Tcl_Obj *
TlsChannel_ErrorCode(TlsChannel *tc)
{
    return (tc->flags & TLS_FAILED) ? tc->errorCode : NULL;
}

/*
 * TlsChannel_FromChannel --
 *	The TLS layer of a channel stack, or NULL when there is none.
 */
TlsChannel *
TlsChannel_FromChannel(Tcl_Channel chan)
{
    for (chan = Tcl_GetTopChannel(chan); chan != NULL;
	    chan = Tcl_GetStackedChannel(chan)) {
	if (Tcl_GetChannelType(chan) == &tlsChannelType) {
	    return Tcl_GetChannelInstanceData(chan);
	}
    }
    return NULL;
}

/*
 * TlsChannel_FromContext --
 *	The channel of a security context handle, or NULL with an error.
 */
TlsChannel *
TlsChannel_FromContext(Tcl_Interp *interp, Tcl_Obj *ctxName)
{
    return Handle_Get(interp, ctxName, HANDLE_CONTEXT);
}

/*
 * TlsChannel_StateName --
 *	CLIENTINIT, SERVERINIT, NEGOTIATING, OPEN or CLOSED.
 */
const char *
TlsChannel_StateName(TlsChannel *tc)
{
    if (tc->flags & (TLS_FAILED | TLS_CLOSING)) {
	return "CLOSED";
    }
    if (tc->flags & TLS_OPEN) {
	return (tc->flags & TLS_EOF) && (tc->flags & TLS_WRITE_CLOSED)
		? "CLOSED" : "OPEN";
    }
    if (tc->flags & TLS_STARTED) {
	return "NEGOTIATING";
    }
    return (tc->flags & TLS_SERVER) ? "SERVERINIT" : "CLIENTINIT";
}
