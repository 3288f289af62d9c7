/*
 * engine_bench.c --
 *
 *	The cost of the TLS engine alone, without sockets or Tcl: a client and
 *	a server engine (src/engine.c) in one process hand their ciphertext to
 *	each other in memory. It handshakes, then moves MIB mebibytes from
 *	client to server in CHUNK-byte writes, and prints one line:
 *
 *	    rate <MiB/s> handshake_ms <ms> records <n> memcpy_rate <MiB/s>
 *
 *	(a Tcl dict) with a baseline of plain memory copies of the same sizes
 *	in the same run, so the figure is the platform's Schannel cost per
 *	byte: the floor under any TLS channel built on it.
 *
 *	Usage: engine_bench.exe SERVER.pfx ?MIB? ?CHUNK?
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/engine.h"
#include <wincrypt.h>

int schannelTrace = 0;
void Trace_Printf(const char *format, ...) { (void) format; }

/* Die -- prints what failed and exits non-zero. */
static void
Die(const char *what, long status)
{
    fprintf(stderr, "engine_bench: %s failed: 0x%08lx\n", what,
	    (unsigned long) status);
    exit(1);
}

/* ReadFileBytes -- the whole file in a malloc'd buffer. */
static unsigned char *
ReadFileBytes(const char *path, DWORD *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
	Die(path, GetLastError());
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n);
    if (data == NULL || fread(data, 1, n, f) != (size_t) n) {
	Die("reading the PFX", 0);
    }
    fclose(f);
    *len = (DWORD) n;
    return data;
}

/* Acquire -- Schannel credentials for one role (TLS 1.2, as under Wine). */
static void
Acquire(CredHandle *cred, PCCERT_CONTEXT cert, int isServer)
{
    SCHANNEL_CRED sc;
    TimeStamp expiry;
    memset(&sc, 0, sizeof(sc));
    sc.dwVersion = SCHANNEL_CRED_VERSION;
    sc.grbitEnabledProtocols = isServer ? SP_PROT_TLS1_2_SERVER
	    : SP_PROT_TLS1_2_CLIENT;
    if (isServer) {
	sc.cCreds = 1;
	sc.paCred = &cert;
    } else {
	sc.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    }
    SECURITY_STATUS status = AcquireCredentialsHandleW(NULL,
	    (LPWSTR) UNISP_NAME_W,
	    isServer ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, NULL, &sc,
	    NULL, NULL, cred, &expiry);
    if (status != SEC_E_OK) {
	Die("AcquireCredentialsHandle", status);
    }
}

/* Move -- appends all of `from` to `to` (the "network"). */
static void
Move(ByteBuf *from, ByteBuf *to)
{
    if (from->len > 0) {
	if (!ByteBuf_Append(to, ByteBuf_Head(from), from->len)) {
	    Die("ByteBuf_Append", 0);
	}
	ByteBuf_Consume(from, from->len);
    }
}

/* Seconds -- a monotonic clock. */
static double
Seconds(void)
{
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double) t.QuadPart / (double) f.QuadPart;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
	fprintf(stderr, "usage: engine_bench SERVER.pfx ?MIB? ?CHUNK?\n");
	return 2;
    }
    size_t total = (size_t) (argc > 2 ? atoi(argv[2]) : 64) << 20;
    size_t chunk = argc > 3 ? (size_t) atoi(argv[3]) : 65536;

    CRYPT_DATA_BLOB pfx;
    pfx.pbData = ReadFileBytes(argv[1], &pfx.cbData);
    HCERTSTORE store = PFXImportCertStore(&pfx, L"", 0);
    if (store == NULL) {
	Die("PFXImportCertStore", GetLastError());
    }
    PCCERT_CONTEXT cert = CertFindCertificateInStore(store, X509_ASN_ENCODING,
	    0, CERT_FIND_ANY, NULL, NULL);
    if (cert == NULL) {
	Die("CertFindCertificateInStore", GetLastError());
    }
    CredHandle serverCred, clientCred;
    Acquire(&serverCred, cert, 1);
    Acquire(&clientCred, NULL, 0);

    TlsEngine client, server;
    if (!Engine_Init(&client, &clientCred, 0, "localhost", 0)
	    || !Engine_Init(&server, &serverCred, 1, NULL, 0)) {
	Die("Engine_Init", 0);
    }
    double t0 = Seconds();
    SECURITY_STATUS cs = ENGINE_WANT_INPUT, ss = ENGINE_WANT_INPUT;
    for (int round = 0; round < 20 && (cs != SEC_E_OK || ss != SEC_E_OK);
	    round++) {
	cs = Engine_Handshake(&client);
	if (cs != SEC_E_OK && cs != ENGINE_WANT_INPUT) {
	    Die("client handshake", cs);
	}
	Move(&client.cipherOut, &server.cipherIn);
	ss = Engine_Handshake(&server);
	if (ss != SEC_E_OK && ss != ENGINE_WANT_INPUT) {
	    Die("server handshake", ss);
	}
	Move(&server.cipherOut, &client.cipherIn);
    }
    if (cs != SEC_E_OK || ss != SEC_E_OK) {
	Die("handshake (did not finish)", cs != SEC_E_OK ? cs : ss);
    }
    double handshake = Seconds() - t0;

    unsigned char *data = malloc(chunk);
    for (size_t i = 0; i < chunk; i++) {
	data[i] = (unsigned char) (i * 7 + 1);
    }
    size_t records = 0, received = 0;
    t0 = Seconds();
    for (size_t sent = 0; sent < total; sent += chunk) {
	if (Engine_Encrypt(&client, data, chunk) != SEC_E_OK) {
	    Die("Engine_Encrypt", client.error);
	}
	records += (chunk + client.sizes.cbMaximumMessage - 1)
		/ client.sizes.cbMaximumMessage;
	Move(&client.cipherOut, &server.cipherIn);
	if (Engine_Decrypt(&server) != SEC_E_OK) {
	    Die("Engine_Decrypt", server.error);
	}
	if (server.plainIn.len != chunk
		|| memcmp(ByteBuf_Head(&server.plainIn), data, chunk) != 0) {
	    fprintf(stderr, "engine_bench: decrypted data differs\n");
	    return 1;
	}
	received += server.plainIn.len;
	ByteBuf_Consume(&server.plainIn, server.plainIn.len);
    }
    double elapsed = Seconds() - t0;
    if (received != total) {
	fprintf(stderr, "engine_bench: received %lu of %lu bytes\n",
		(unsigned long) received, (unsigned long) total);
	return 1;
    }

    /* Baseline: the same bytes copied twice (in and out of a queue). */
    ByteBuf queue = {0};
    double m0 = Seconds();
    for (size_t sent = 0; sent < total; sent += chunk) {
	ByteBuf_Append(&queue, data, chunk);
	memcpy(data, ByteBuf_Head(&queue), chunk);
	ByteBuf_Consume(&queue, chunk);
    }
    double copy = Seconds() - m0;

    printf("rate %.1f handshake_ms %.2f records %lu memcpy_rate %.1f\n",
	    (double) (total >> 20) / elapsed, handshake * 1000.0,
	    (unsigned long) records, (double) (total >> 20) / copy);
    Engine_Free(&client);
    Engine_Free(&server);
    ByteBuf_Free(&queue);
    FreeCredentialsHandle(&clientCred);
    FreeCredentialsHandle(&serverCred);
    CertFreeCertificateContext(cert);
    CertCloseStore(store, 0);
    free(data);
    free(pfx.pbData);
    return 0;
}
