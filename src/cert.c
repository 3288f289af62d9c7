/*
 * cert.c --
 *
 *	Certificate and store commands (names follow TWAPI): temporary and
 *	system stores, PFX import, find/enumerate, import/export, names,
 *	thumbprint, and cert_tls_verify. Every certificate context a script
 *	sees is its own reference, released with cert_release.
 */

#include <stdio.h>
#include "schannelInt.h"

#define ENCODING (X509_ASN_ENCODING | PKCS_7_ASN_ENCODING)

/*
 * Cert_NewHandle --
 *	Registers a certificate context (whose reference passes to the handle)
 *	and returns the handle name.
 */
Tcl_Obj *
Cert_NewHandle(Tcl_Interp *owner, PCCERT_CONTEXT cert)
{
    Stats_Add(STAT_CERTIFICATES, 1);
    return Handle_New(owner, HANDLE_CERT, (void *) cert);
}

/*
 * Cert_Get --
 *	The certificate context of a handle, or NULL with an error.
 */
PCCERT_CONTEXT
Cert_Get(Tcl_Interp *interp, Tcl_Obj *name)
{
    return Handle_Get(interp, name, HANDLE_CERT);
}

static Tcl_Obj *
StoreHandle(Tcl_Interp *owner, HCERTSTORE store)
{
    Stats_Add(STAT_STORES, 1);
    return Handle_New(owner, HANDLE_STORE, store);
}

static int
Win32Error(Tcl_Interp *interp, const char *context)
{
    return Error_Set(interp, "CERT", (long) GetLastError(), context);
}

/* A Tcl string as a freshly allocated UTF-16 string (ckfree it). */
static WCHAR *
ToWide(Tcl_Obj *obj)
{
    const char *s = Tcl_GetString(obj);
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    WCHAR *w = (WCHAR *) ckalloc(n * sizeof(WCHAR));
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

/*
 * TemporaryStoreCmd --
 *	cert_temporary_store ?-pfx|-pkcs12 BLOB ?-password PW??
 *	A new in-memory store, or the store of an imported PFX (keys too).
 */
static int
TemporaryStoreCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    static const char *const options[] = {"-pfx", "-pkcs12", "-password", NULL};
    Tcl_Obj *pfx = NULL, *password = NULL;
    (void) cd;
    for (int i = 1; i < objc; i += 2) {
	int index;
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (i + 1 >= objc) {
	    return Error_Usage(interp,
		    "cert_temporary_store ?-pfx BLOB ?-password PASSWORD??");
	}
	if (index == 2) {
	    password = objv[i + 1];
	} else {
	    pfx = objv[i + 1];
	}
    }
    if (password != NULL && pfx == NULL) {
	/* A password alone would be ignored: the script forgot the PFX. */
	return Error_Usage(interp,
		"cert_temporary_store ?-pfx BLOB ?-password PASSWORD??");
    }
    HCERTSTORE store;
    if (pfx == NULL) {
	store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
	if (store == NULL) {
	    return Win32Error(interp, "cannot create a memory store");
	}
    } else {
	Tcl_Size len;
	unsigned char *bytes = Tcl_GetByteArrayFromObj(pfx, &len);
	CRYPT_DATA_BLOB blob = {(DWORD) len, bytes};
	if (!PFXIsPFXBlob(&blob)) {
	    return Error_Simple(interp, "CERT", "PFX",
		    "not a PFX/PKCS #12 blob (read the file with -translation binary)");
	}
	Tcl_Obj *empty = Tcl_NewObj();
	Tcl_IncrRefCount(empty);
	WCHAR *pw = ToWide(password ? password : empty);
	Tcl_DecrRefCount(empty);
	store = PFXImportCertStore(&blob, pw, CRYPT_EXPORTABLE | CRYPT_USER_KEYSET);
	DWORD err = GetLastError();
	SecureZeroMemory(pw, wcslen(pw) * sizeof(WCHAR));
	ckfree(pw);
	if (store == NULL) {
	    SetLastError(err);
	    return Win32Error(interp, "cannot import the PFX (wrong password?)");
	}
    }
    Tcl_SetObjResult(interp, StoreHandle(interp, store));
    return TCL_OK;
}

/*
 * IsStandardStoreName --
 *	True for the system stores every Windows profile has.
 */
static int
IsStandardStoreName(const char *name)
{
    static const char *const standard[] = {"MY", "Root", "CA", "Trust",
	"Disallowed", "TrustedPeople", "TrustedPublisher", "AuthRoot", NULL};
    for (int i = 0; standard[i] != NULL; i++) {
	if (strcasecmp(name, standard[i]) == 0) {
	    return 1;
	}
    }
    return 0;
}

/*
 * SystemStoreOpenCmd --
 *	cert_system_store_open NAME ?user|machine|service?
 *	Opens a system store (MY, Root, CA, ...) of the current user or of
 *	the machine.
 */
static int
SystemStoreOpenCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    static const char *const locations[] = {"user", "machine", "service", NULL};
    static const DWORD flags[] = {CERT_SYSTEM_STORE_CURRENT_USER,
	CERT_SYSTEM_STORE_LOCAL_MACHINE, CERT_SYSTEM_STORE_CURRENT_SERVICE};
    int location = 0;
    (void) cd;
    if (objc < 2 || objc > 3) {
	return Error_Usage(interp, "cert_system_store_open NAME ?user|machine|service?");
    }
    if (objc == 3 && Tcl_GetIndexFromObj(interp, objv[2], locations,
	    "location", 0, &location) != TCL_OK) {
	return TCL_ERROR;
    }
    /*
     * A made-up name must be an error, not a new empty store; but the
     * standard stores exist by definition, even where nothing has been
     * written to them yet (a new user profile), so they may be created.
     */
    if (Tcl_GetCharLength(objv[1]) == 0) {
	return Error_Simple(interp, "CERT", "STORE", "a system store needs a name");
    }
    WCHAR *name = ToWide(objv[1]);
    DWORD openFlags = flags[location];
    if (!IsStandardStoreName(Tcl_GetString(objv[1]))) {
	openFlags |= CERT_STORE_OPEN_EXISTING_FLAG;
    }
    HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
	    openFlags, name);
    DWORD err = GetLastError();
    ckfree(name);
    if (store == NULL) {
	return Error_Set(interp, "CERT", err ? (long) err
		: (long) ERROR_FILE_NOT_FOUND, "cannot open the system store");
    }
    Tcl_SetObjResult(interp, StoreHandle(interp, store));
    return TCL_OK;
}

/*
 * StoreReleaseCmd --
 *	cert_store_release HSTORE: closes a store handle.
 */
static int
StoreReleaseCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "cert_store_release HSTORE");
    }
    HCERTSTORE store = Handle_Remove(interp, objv[1], HANDLE_STORE);
    if (store == NULL) {
	return TCL_ERROR;
    }
    CertCloseStore(store, 0);
    Stats_Add(STAT_STORES, -1);
    return TCL_OK;
}

/*
 * StoreAddCertificateCmd --
 *	cert_store_add_certificate HSTORE HCERT: adds (or replaces) a copy of
 *	the certificate and returns a handle to the copy in the store.
 */
static int
StoreAddCertificateCmd(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 3) {
	return Error_Usage(interp, "cert_store_add_certificate HSTORE HCERT");
    }
    HCERTSTORE store = Handle_Get(interp, objv[1], HANDLE_STORE);
    PCCERT_CONTEXT cert = store ? Cert_Get(interp, objv[2]) : NULL;
    PCCERT_CONTEXT added = NULL;
    if (cert == NULL) {
	return TCL_ERROR;
    }
    if (!CertAddCertificateContextToStore(store, cert,
	    CERT_STORE_ADD_REPLACE_EXISTING, &added)) {
	return Win32Error(interp, "cannot add the certificate to the store");
    }
    Tcl_SetObjResult(interp, Cert_NewHandle(interp, added));
    return TCL_OK;
}

/*
 * PreviousInStore --
 *	The certificate of a handle, duplicated, for use as the "previous"
 *	certificate of a search in `store`; it must come from that store (the
 *	API frees it, and a certificate of another store is undefined
 *	behaviour). NULL with an error otherwise.
 */
static PCCERT_CONTEXT
PreviousInStore(Tcl_Interp *interp, Tcl_Obj *name, HCERTSTORE store)
{
    PCCERT_CONTEXT cert = Cert_Get(interp, name);
    if (cert == NULL) {
	return NULL;
    }
    if (cert->hCertStore != store) {
	Error_Simple(interp, "CERT", "STORE", "the certificate does not come"
		" from this store (it must be a result of a search in it)");
	return NULL;
    }
    return CertDuplicateCertificateContext(cert);
}

/*
 * StoreFindCertificateCmd --
 *	cert_store_find_certificate HSTORE ?TYPE? ?TERM? ?HCERT?
 *	TYPE: any, subject_substring, issuer_substring, sha1hash. Returns the
 *	next matching certificate after HCERT (which stays the caller's), or
 *	"" when there is none.
 */
static int
StoreFindCertificateCmd(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    static const char *const types[] = {
	"any", "subject_substring", "issuer_substring", "sha1hash", NULL
    };
    static const DWORD findTypes[] = {
	CERT_FIND_ANY, CERT_FIND_SUBJECT_STR_W, CERT_FIND_ISSUER_STR_W,
	CERT_FIND_SHA1_HASH
    };
    int type = 0;
    (void) cd;
    if (objc < 2 || objc > 5) {
	return Error_Usage(interp,
		"cert_store_find_certificate HSTORE ?TYPE? ?TERM? ?HCERT?");
    }
    HCERTSTORE store = Handle_Get(interp, objv[1], HANDLE_STORE);
    if (store == NULL || (objc > 2 && Tcl_GetIndexFromObj(interp, objv[2],
	    types, "search type", 0, &type) != TCL_OK)) {
	return TCL_ERROR;
    }
    PCCERT_CONTEXT prev = NULL;
    if (objc > 4 && *Tcl_GetString(objv[4])) {
	if ((prev = PreviousInStore(interp, objv[4], store)) == NULL) {
	    return TCL_ERROR;
	}
    }
    if (type != 0 && objc < 4) {
	if (prev) {
	    CertFreeCertificateContext(prev);
	}
	return Error_Simple(interp, "CERT", "FIND", "this search type needs a TERM");
    }
    const void *para = NULL;
    WCHAR *wterm = NULL;
    unsigned char hash[20];
    CRYPT_HASH_BLOB hashBlob = {sizeof(hash), hash};
    if (type == 1 || type == 2) {
	para = wterm = ToWide(objv[3]);
    } else if (type == 3) {
	const char *hex = Tcl_GetString(objv[3]);
	DWORD n = sizeof(hash);
	if (strlen(hex) != 40 || !CryptStringToBinaryA(hex, 40, CRYPT_STRING_HEX,
		hash, &n, NULL, NULL) || n != 20) {
	    if (prev) {
		CertFreeCertificateContext(prev);
	    }
	    return Error_Simple(interp, "CERT", "FIND",
		    "sha1hash needs 40 hexadecimal digits");
	}
	para = &hashBlob;
    }
    PCCERT_CONTEXT found = CertFindCertificateInStore(store, ENCODING, 0,
	    findTypes[type], para, prev);
    if (wterm) {
	ckfree(wterm);
    }
    if (found != NULL) {
	Tcl_SetObjResult(interp, Cert_NewHandle(interp, found));
    }
    return TCL_OK;
}

/*
 * StoreEnumContentsCmd --
 *	cert_store_enum_contents HSTORE ?HCERT?: the certificate after HCERT
 *	(or the first), or "" at the end.
 */
static int
StoreEnumContentsCmd(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc < 2 || objc > 3) {
	return Error_Usage(interp, "cert_store_enum_contents HSTORE ?HCERT?");
    }
    HCERTSTORE store = Handle_Get(interp, objv[1], HANDLE_STORE);
    PCCERT_CONTEXT prev = NULL;
    if (store == NULL) {
	return TCL_ERROR;
    }
    if (objc == 3 && *Tcl_GetString(objv[2])) {
	if ((prev = PreviousInStore(interp, objv[2], store)) == NULL) {
	    return TCL_ERROR;
	}
    }
    PCCERT_CONTEXT next = CertEnumCertificatesInStore(store, prev);
    if (next != NULL) {
	Tcl_SetObjResult(interp, Cert_NewHandle(interp, next));
    }
    return TCL_OK;
}

/*
 * CertReleaseCmd --
 *	cert_release HCERT: releases the script's reference.
 */
static int
CertReleaseCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "cert_release HCERT");
    }
    PCCERT_CONTEXT cert = Handle_Remove(interp, objv[1], HANDLE_CERT);
    if (cert == NULL) {
	return TCL_ERROR;
    }
    CertFreeCertificateContext(cert);
    Stats_Add(STAT_CERTIFICATES, -1);
    return TCL_OK;
}

/*
 * CertDuplicateCmd --
 *	cert_duplicate HCERT: a new handle to the same certificate.
 */
static int
CertDuplicateCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "cert_duplicate HCERT");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL) {
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, Cert_NewHandle(interp, CertDuplicateCertificateContext(cert)));
    return TCL_OK;
}

/*
 * GetEncodingOption --
 *	Parses ?-encoding der|pem? at objv[first..]; *pem set to 1 for pem.
 */
static int
GetEncodingOption(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[],
	int first, int *pem)
{
    static const char *const encodings[] = {"der", "pem", NULL};
    static const char *const options[] = {"-encoding", NULL};
    int index;
    *pem = 0;
    for (int i = first; i < objc; i += 2) {
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (i + 1 >= objc) {
	    return Error_Simple(interp, "CERT", "USAGE", "-encoding needs der or pem");
	}
	if (Tcl_GetIndexFromObj(interp, objv[i + 1], encodings, "encoding", 0,
		pem) != TCL_OK) {
	    return TCL_ERROR;
	}
    }
    return TCL_OK;
}

/*
 * CertImportCmd --
 *	cert_import BLOB ?-encoding der|pem?: a certificate from its encoding
 *	(PEM may include the BEGIN/END lines).
 */
static int
CertImportCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    int pem;
    (void) cd;
    if (objc < 2 || GetEncodingOption(interp, objc, objv, 2, &pem) != TCL_OK) {
	return objc < 2 ? Error_Usage(interp, "cert_import BLOB ?-encoding der|pem?")
		: TCL_ERROR;
    }
    Tcl_Size len;
    PCCERT_CONTEXT cert;
    if (pem) {
	const char *text = Tcl_GetStringFromObj(objv[1], &len);
	DWORD n = 0;
	if (!CryptStringToBinaryA(text, (DWORD) len, CRYPT_STRING_BASE64_ANY,
		NULL, &n, NULL, NULL)) {
	    return Error_Simple(interp, "CERT", "PEM", "not a PEM certificate");
	}
	BYTE *der = (BYTE *) ckalloc(n);
	CryptStringToBinaryA(text, (DWORD) len, CRYPT_STRING_BASE64_ANY, der,
		&n, NULL, NULL);
	cert = CertCreateCertificateContext(X509_ASN_ENCODING, der, n);
	ckfree(der);
    } else {
	unsigned char *bytes = Tcl_GetByteArrayFromObj(objv[1], &len);
	cert = CertCreateCertificateContext(X509_ASN_ENCODING, bytes, (DWORD) len);
    }
    if (cert == NULL) {
	return Win32Error(interp, "cannot decode the certificate");
    }
    Tcl_SetObjResult(interp, Cert_NewHandle(interp, cert));
    return TCL_OK;
}

/*
 * CertExportCmd --
 *	cert_export HCERT ?-encoding der|pem?: the certificate's encoding.
 */
static int
CertExportCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    int pem;
    (void) cd;
    if (objc < 2) {
	return Error_Usage(interp, "cert_export HCERT ?-encoding der|pem?");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL || GetEncodingOption(interp, objc, objv, 2, &pem) != TCL_OK) {
	return TCL_ERROR;
    }
    if (!pem) {
	Tcl_SetObjResult(interp, Tcl_NewByteArrayObj(cert->pbCertEncoded,
		(Tcl_Size) cert->cbCertEncoded));
	return TCL_OK;
    }
    DWORD n = 0;
    DWORD flags = CRYPT_STRING_BASE64HEADER | CRYPT_STRING_NOCR;
    CryptBinaryToStringA(cert->pbCertEncoded, cert->cbCertEncoded, flags, NULL, &n);
    char *text = ckalloc(n + 1);
    CryptBinaryToStringA(cert->pbCertEncoded, cert->cbCertEncoded, flags, text, &n);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(text, (Tcl_Size) n));
    ckfree(text);
    return TCL_OK;
}

/*
 * NameString --
 *	A name of the certificate as a Tcl string: CERT_NAME_* type, subject
 *	or issuer (CERT_NAME_ISSUER_FLAG).
 */
static Tcl_Obj *
NameString(PCCERT_CONTEXT cert, DWORD type, DWORD flags, void *typePara)
{
    WCHAR buf[1024];
    DWORD n = CertGetNameStringW(cert, type, flags, typePara, buf, 1024);
    char utf8[3072];
    int len = WideCharToMultiByte(CP_UTF8, 0, buf, n > 0 ? (int) n - 1 : 0,
	    utf8, sizeof(utf8), NULL, NULL);
    return Tcl_NewStringObj(utf8, len);
}

/*
 * SubjectOrIssuerName --
 *	cert_subject_name / cert_issuer_name HCERT ?-name simpledisplay|x500|
 *	dns|email|friendlydisplay?: the name (default simpledisplay).
 */
static int
SubjectOrIssuerName(void *cd, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    static const char *const kinds[] = {
	"simpledisplay", "x500", "dns", "email", "friendlydisplay", "rdn", NULL
    };
    static const DWORD types[] = {
	CERT_NAME_SIMPLE_DISPLAY_TYPE, CERT_NAME_RDN_TYPE, CERT_NAME_DNS_TYPE,
	CERT_NAME_EMAIL_TYPE, CERT_NAME_FRIENDLY_DISPLAY_TYPE, CERT_NAME_RDN_TYPE
    };
    int issuer = (cd != NULL), kind = 0;
    if (objc != 2 && objc != 4) {
	return Error_Usage(interp, issuer ? "cert_issuer_name HCERT ?-name TYPE?"
		: "cert_subject_name HCERT ?-name TYPE?");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL) {
	return TCL_ERROR;
    }
    if (objc == 4) {
	if (strcmp(Tcl_GetString(objv[2]), "-name") != 0) {
	    return Error_Simple(interp, "CERT", "USAGE", "expected -name");
	}
	if (Tcl_GetIndexFromObj(interp, objv[3], kinds, "name type", 0,
		&kind) != TCL_OK) {
	    return TCL_ERROR;
	}
    }
    DWORD strType = CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG;
    Tcl_SetObjResult(interp, NameString(cert, types[kind],
	    issuer ? CERT_NAME_ISSUER_FLAG : 0,
	    types[kind] == CERT_NAME_RDN_TYPE ? &strType : NULL));
    return TCL_OK;
}

/*
 * ThumbprintObj --
 *	The hash (CALG_SHA1 or CALG_SHA_256) of a certificate's encoding in
 *	lower-case hex, or NULL when hashing failed (GetLastError says why).
 */
static Tcl_Obj *
ThumbprintObj(PCCERT_CONTEXT cert, ALG_ID alg)
{
    BYTE hash[32];
    DWORD n = sizeof(hash);
    if (!CryptHashCertificate(0, alg, 0, cert->pbCertEncoded,
	    cert->cbCertEncoded, hash, &n)) {
	return NULL;
    }
    char hex[65];
    for (DWORD i = 0; i < n; i++) {
	snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    }
    return Tcl_NewStringObj(hex, (Tcl_Size) (2 * n));
}

/*
 * CertThumbprintCmd --
 *	cert_thumbprint HCERT ?sha1|sha256?: hash of the encoding in hex.
 */
static int
CertThumbprintCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    static const char *const algs[] = {"sha1", "sha256", NULL};
    static const ALG_ID ids[] = {CALG_SHA1, CALG_SHA_256};
    int alg = 0;
    (void) cd;
    if (objc < 2 || objc > 3) {
	return Error_Usage(interp, "cert_thumbprint HCERT ?sha1|sha256?");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL || (objc == 3 && Tcl_GetIndexFromObj(interp, objv[2],
	    algs, "algorithm", 0, &alg) != TCL_OK)) {
	return TCL_ERROR;
    }
    Tcl_Obj *hex = ThumbprintObj(cert, ids[alg]);
    if (hex == NULL) {
	return Win32Error(interp, "cannot hash the certificate");
    }
    Tcl_SetObjResult(interp, hex);
    return TCL_OK;
}

/*
 * FileTimeObj --
 *	A FILETIME as seconds since the Unix epoch.
 */
static Tcl_Obj *
FileTimeObj(FILETIME ft)
{
    ULONGLONG t = ((ULONGLONG) ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return Tcl_NewWideIntObj((Tcl_WideInt) (t / 10000000ULL) - 11644473600LL);
}

/*
 * CertInfoCmd --
 *	cert_info HCERT: dict of version, serialnumber, start, end (seconds),
 *	subject, issuer, thumbprint.
 */
static int
CertInfoCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    (void) cd;
    if (objc != 2) {
	return Error_Usage(interp, "cert_info HCERT");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL) {
	return TCL_ERROR;
    }
    PCERT_INFO info = cert->pCertInfo;
    Tcl_Obj *d = Tcl_NewDictObj();
    char hex[3 * 64 + 1] = "";
    for (DWORD i = 0; i < info->SerialNumber.cbData && i < 64; i++) {
	/* The serial is stored little-endian; print it big-endian. */
	snprintf(hex + 2 * i, 3, "%02x",
		info->SerialNumber.pbData[info->SerialNumber.cbData - 1 - i]);
    }
    DWORD strType = CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG;
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("version", -1),
	    Tcl_NewIntObj((int) info->dwVersion + 1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("serialnumber", -1),
	    Tcl_NewStringObj(hex, -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("start", -1),
	    FileTimeObj(info->NotBefore));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("end", -1),
	    FileTimeObj(info->NotAfter));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("subject", -1),
	    NameString(cert, CERT_NAME_RDN_TYPE, 0, &strType));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("issuer", -1),
	    NameString(cert, CERT_NAME_RDN_TYPE, CERT_NAME_ISSUER_FLAG, &strType));
    Tcl_Obj *thumbprint = ThumbprintObj(cert, CALG_SHA1);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("thumbprint", -1),
	    thumbprint ? thumbprint : Tcl_NewObj());
    Tcl_SetObjResult(interp, d);
    return TCL_OK;
}

/*
 * TlsVerifyCmd --
 *	cert_tls_verify HCERT ?-server NAME? ?-trustedroots CERTLIST?
 *	    ?-ignoreerrors LIST? ?-hstore H? ?-revocationcheck none|all|
 *	    excluderoot|endonly? ?-usage server|client?
 *	Returns ok or the reason token of the first failure.
 */
static int
TlsVerifyCmd(void *cd, Tcl_Interp *interp, int objc, Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-server", "-trustedroots", "-ignoreerrors", "-hstore",
	"-revocationcheck", "-usage", NULL
    };
    static const char *const ignorable[] = {
	"time", "expired", "usage", "cn", "name", "untrustedroot",
	"revocation", NULL
    };
    static const char *const revocation[] = {
	"none", "all", "excluderoot", "endonly", NULL
    };
    static const DWORD revocationFlags[] = {
	0, CERT_CHAIN_REVOCATION_CHECK_CHAIN,
	CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
	CERT_CHAIN_REVOCATION_CHECK_END_CERT
    };
    static const char *const usages[] = {"server", "client", NULL};
    VerifyOptions opts;
    PCCERT_CONTEXT roots[32];
    (void) cd;

    if (objc < 2 || (objc % 2) != 0) {
	return Error_Usage(interp, "cert_tls_verify HCERT ?-server NAME?"
		" ?-trustedroots CERTLIST? ?-ignoreerrors LIST? ?-hstore H?"
		" ?-revocationcheck none|all|excluderoot|endonly?");
    }
    PCCERT_CONTEXT cert = Cert_Get(interp, objv[1]);
    if (cert == NULL) {
	return TCL_ERROR;
    }
    memset(&opts, 0, sizeof(opts));
    opts.serverCert = 1;
    opts.trustedRoots = roots;
    opts.revocationFlags = CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT;
    opts.extraStore = cert->hCertStore;
    for (int i = 2; i < objc; i += 2) {
	int index, k;
	Tcl_Size n;
	Tcl_Obj **elems;
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_Obj *value = objv[i + 1];
	switch (index) {
	case 0:
	    opts.serverName = Tcl_GetString(value);
	    break;
	case 1:
	    if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (n > 32) {
		return Error_Simple(interp, "CERT", "USAGE",
			"at most 32 -trustedroots");
	    }
	    for (k = 0; k < n; k++) {
		if ((roots[k] = Cert_Get(interp, elems[k])) == NULL) {
		    return TCL_ERROR;
		}
	    }
	    opts.numTrustedRoots = (int) n;
	    break;
	case 2:
	    if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
		return TCL_ERROR;
	    }
	    for (k = 0; k < n; k++) {
		int what;
		if (Tcl_GetIndexFromObj(interp, elems[k], ignorable,
			"error class", 0, &what) != TCL_OK) {
		    return TCL_ERROR;
		}
		switch (what) {
		case 0: case 1: opts.ignoreErrors |= CERT_TRUST_IS_NOT_TIME_VALID; break;
		case 2: opts.ignoreErrors |= CERT_TRUST_IS_NOT_VALID_FOR_USAGE; break;
		case 3: case 4: opts.ignoreNameMismatch = 1; break;
		case 5: opts.ignoreErrors |= CERT_TRUST_IS_UNTRUSTED_ROOT
			| CERT_TRUST_IS_PARTIAL_CHAIN; break;
		case 6: opts.ignoreErrors |= CERT_TRUST_IS_REVOKED; break;
		}
	    }
	    break;
	case 3:
	    if ((opts.extraStore = Handle_Get(interp, value, HANDLE_STORE)) == NULL) {
		return TCL_ERROR;
	    }
	    break;
	case 4:
	    if (Tcl_GetIndexFromObj(interp, value, revocation, "revocation check",
		    0, &k) != TCL_OK) {
		return TCL_ERROR;
	    }
	    opts.revocationFlags = revocationFlags[k];
	    break;
	case 5:
	    if (Tcl_GetIndexFromObj(interp, value, usages, "usage", 0,
		    &k) != TCL_OK) {
		return TCL_ERROR;
	    }
	    opts.serverCert = (k == 0);
	    break;
	}
    }
    const char *reason;
    Cert_Verify(cert, &opts, &reason);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(reason, -1));
    return TCL_OK;
}

/*
 * Cert_Register --
 *	Creates the certificate commands in ::schannel.
 */
int
Cert_Register(Tcl_Interp *interp)
{
    static const struct {
	const char *name;
	Tcl_ObjCmdProc *proc;
	void *data;
    } commands[] = {
	{"cert_temporary_store", TemporaryStoreCmd, NULL},
	{"cert_system_store_open", SystemStoreOpenCmd, NULL},
	{"cert_store_release", StoreReleaseCmd, NULL},
	{"cert_store_add_certificate", StoreAddCertificateCmd, NULL},
	{"cert_store_find_certificate", StoreFindCertificateCmd, NULL},
	{"cert_store_enum_contents", StoreEnumContentsCmd, NULL},
	{"cert_release", CertReleaseCmd, NULL},
	{"cert_duplicate", CertDuplicateCmd, NULL},
	{"cert_import", CertImportCmd, NULL},
	{"cert_export", CertExportCmd, NULL},
	{"cert_subject_name", SubjectOrIssuerName, NULL},
	{"cert_issuer_name", SubjectOrIssuerName, (void *) 1},
	{"cert_thumbprint", CertThumbprintCmd, NULL},
	{"cert_info", CertInfoCmd, NULL},
	{"cert_tls_verify", TlsVerifyCmd, NULL},
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
	char name[64];
	snprintf(name, sizeof(name), SCHANNEL_NS "::%s", commands[i].name);
	Tcl_CreateObjCommand(interp, name, commands[i].proc, commands[i].data, NULL);
    }
    return TCL_OK;
}
