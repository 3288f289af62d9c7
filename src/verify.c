/*
 * verify.c --
 *
 *	Certificate verification for TLS: chain building against the Windows
 *	trust stores (plus the certificates the peer sent), the chain's own
 *	trust status, the SSL policy, and the peer name. IP address names are
 *	matched against iPAddress subjectAltName entries here, as RFC 6125
 *	asks, because the platform's SSL policy only matches DNS names.
 *	Both the chain status and the policy result are checked: a policy
 *	result of "no error" alone is not trusted.
 */

/* For CERT_CHAIN_PARA.dwUrlRetrievalTimeout. */
#define CERT_CHAIN_PARA_HAS_EXTRA_FIELDS
#include <ws2tcpip.h>
#include "schannelInt.h"

/* SSL_EXTRA_CERT_CHAIN_POLICY_PARA.fdwChecks bits (documented values; the
 * names live in wininet.h, which this extension does not otherwise need). */
#ifndef SECURITY_FLAG_IGNORE_REVOCATION
#define SECURITY_FLAG_IGNORE_REVOCATION		0x00000080
#define SECURITY_FLAG_IGNORE_UNKNOWN_CA		0x00000100
#define SECURITY_FLAG_IGNORE_WRONG_USAGE	0x00000200
#define SECURITY_FLAG_IGNORE_CERT_CN_INVALID	0x00001000
#define SECURITY_FLAG_IGNORE_CERT_DATE_INVALID	0x00002000
#endif

/* Longest wait, in all, for the downloads of one revocation check (CRLs,
 * OCSP): verification runs in the event loop, which it must not stop for
 * the platform's much longer default when the network drops requests. */
#define REVOCATION_TIMEOUT_MS	5000

typedef struct TrustReason {
    DWORD trustBit;		/* CERT_TRUST_* error bit of the chain. */
    long status;		/* The matching HRESULT. */
    const char *reason;		/* Token returned by cert_tls_verify. */
} TrustReason;

/* In order of precedence: the first matching bit names the failure. */
static const TrustReason trustReasons[] = {
    {CERT_TRUST_IS_REVOKED, CRYPT_E_REVOKED, "revoked"},
    {CERT_TRUST_IS_NOT_SIGNATURE_VALID, TRUST_E_CERT_SIGNATURE, "signature"},
    {CERT_TRUST_IS_NOT_TIME_VALID, CERT_E_EXPIRED, "expired"},
    {CERT_TRUST_IS_PARTIAL_CHAIN, CERT_E_CHAINING, "partialchain"},
    {CERT_TRUST_IS_UNTRUSTED_ROOT, CERT_E_UNTRUSTEDROOT, "untrustedroot"},
    {CERT_TRUST_IS_NOT_VALID_FOR_USAGE, CERT_E_WRONG_USAGE, "wrongusage"},
    {CERT_TRUST_INVALID_BASIC_CONSTRAINTS, TRUST_E_BASIC_CONSTRAINTS,
	    "basicconstraints"},
    {CERT_TRUST_IS_CYCLIC, CERT_E_CHAINING, "partialchain"},
    {CERT_TRUST_INVALID_EXTENSION | CERT_TRUST_INVALID_POLICY_CONSTRAINTS
	    | CERT_TRUST_INVALID_NAME_CONSTRAINTS
	    | CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT
	    | CERT_TRUST_HAS_NOT_DEFINED_NAME_CONSTRAINT
	    | CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT
	    | CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT,
	    CERT_E_INVALID_NAME, "invalidextension"},
    {0, 0, NULL}
};

/* Revocation that could not be determined (offline, no CRL) is accepted:
 * a documented soft-fail policy. A definite "revoked" always fails. */
#define SOFT_FAIL_BITS (CERT_TRUST_REVOCATION_STATUS_UNKNOWN \
	| CERT_TRUST_IS_OFFLINE_REVOCATION)

/*
 * ReasonForStatus --
 *	The cert_tls_verify token for an HRESULT of the SSL policy.
 */
static const char *
ReasonForStatus(long status)
{
    switch (status) {
    case CERT_E_EXPIRED: return "expired";
    case CERT_E_UNTRUSTEDROOT: return "untrustedroot";
    case CERT_E_CHAINING: return "partialchain";
    case CERT_E_CN_NO_MATCH: return "cnnotmatch";
    case CERT_E_WRONG_USAGE: return "wrongusage";
    case CRYPT_E_REVOKED: case CERT_E_REVOKED: return "revoked";
    case TRUST_E_CERT_SIGNATURE: return "signature";
    case CERT_E_REVOCATION_FAILURE: return "revocationfailure";
    case TRUST_E_BASIC_CONSTRAINTS: return "basicconstraints";
    case CERT_E_ROLE: return "role";
    default: return "failed";
    }
}

/*
 * IsTrustedRoot --
 *	1 when the root of the chain is one of the explicitly trusted certs.
 */
static int
IsTrustedRoot(PCCERT_CHAIN_CONTEXT chain, const VerifyOptions *opts)
{
    PCERT_SIMPLE_CHAIN simple = chain->rgpChain[chain->cChain - 1];
    PCCERT_CONTEXT root = simple->rgpElement[simple->cElement - 1]->pCertContext;
    for (int i = 0; i < opts->numTrustedRoots; i++) {
	if (CertCompareCertificate(X509_ASN_ENCODING, root->pCertInfo,
		opts->trustedRoots[i]->pCertInfo)) {
	    return 1;
	}
    }
    return 0;
}

/*
 * Verify_IsIpLiteral --
 *	1 when name is an IPv4 or IPv6 address literal (no SNI is sent for
 *	those, RFC 6066), else 0.
 */
int
Verify_IsIpLiteral(const char *name)
{
    struct in6_addr v6;
    return name != NULL && (inet_pton(AF_INET, name, &v6) == 1
	    || inet_pton(AF_INET6, name, &v6) == 1);
}

/*
 * MatchIpAddress --
 *	For an IP literal: 1 when an iPAddress subjectAltName entry equals it,
 *	0 when not, -1 when name is not an IP literal.
 */
static int
MatchIpAddress(PCCERT_CONTEXT cert, const char *name)
{
    unsigned char addr[16];
    DWORD addrLen;
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, name, &v4) == 1) {
	memcpy(addr, &v4, 4);
	addrLen = 4;
    } else if (inet_pton(AF_INET6, name, &v6) == 1) {
	memcpy(addr, &v6, 16);
	addrLen = 16;
    } else {
	return -1;
    }
    PCERT_EXTENSION ext = CertFindExtension(szOID_SUBJECT_ALT_NAME2,
	    cert->pCertInfo->cExtension, cert->pCertInfo->rgExtension);
    if (ext == NULL) {
	return 0;
    }
    CERT_ALT_NAME_INFO *info = NULL;
    DWORD size = 0;
    if (!CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME,
	    ext->Value.pbData, ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG,
	    NULL, &info, &size)) {
	return 0;
    }
    int found = 0;
    for (DWORD i = 0; i < info->cAltEntry && !found; i++) {
	CERT_ALT_NAME_ENTRY *entry = &info->rgAltEntry[i];
	found = entry->dwAltNameChoice == CERT_ALT_NAME_IP_ADDRESS
		&& entry->IPAddress.cbData == addrLen
		&& memcmp(entry->IPAddress.pbData, addr, addrLen) == 0;
    }
    LocalFree(info);
    return found;
}

/*
 * HasDnsAltName --
 *	1 when the certificate has a subjectAltName extension with at least
 *	one dNSName entry, else 0.
 */
static int
HasDnsAltName(PCCERT_CONTEXT cert)
{
    PCERT_EXTENSION ext = CertFindExtension(szOID_SUBJECT_ALT_NAME2,
	    cert->pCertInfo->cExtension, cert->pCertInfo->rgExtension);
    if (ext == NULL) {
	return 0;
    }
    CERT_ALT_NAME_INFO *info = NULL;
    DWORD size = 0;
    if (!CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME,
	    ext->Value.pbData, ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG,
	    NULL, &info, &size)) {
	return 0;
    }
    int found = 0;
    for (DWORD i = 0; i < info->cAltEntry && !found; i++) {
	found = info->rgAltEntry[i].dwAltNameChoice == CERT_ALT_NAME_DNS_NAME;
    }
    LocalFree(info);
    return found;
}

/*
 * IsSelfSignedLeaf --
 *	1 when the chain is the peer certificate alone and it signed itself
 *	(a self-signed leaf rather than a certificate of an untrusted CA).
 */
static int
IsSelfSignedLeaf(PCCERT_CHAIN_CONTEXT chain)
{
    PCERT_SIMPLE_CHAIN simple = chain->rgpChain[0];
    return chain->cChain == 1 && simple->cElement == 1
	    && (simple->rgpElement[0]->TrustStatus.dwInfoStatus
		    & CERT_TRUST_IS_SELF_SIGNED);
}

/*
 * Cert_Verify --
 *	Verifies a peer certificate as the options ask. Returns 0 when it is
 *	acceptable, else an HRESULT (CERT_E_..., CRYPT_E_...) and sets *reason
 *	to the matching token (untrustedroot, selfsigned, expired, notyetvalid,
 *	cnnotmatch, ipnotmatch, nosan, partialchain, wrongusage, revoked,
 *	signature, ...).
 */
long
Cert_Verify(PCCERT_CONTEXT cert, const VerifyOptions *opts,
	const char **reason)
{
    LPSTR usage[1] = {opts->serverCert ? szOID_PKIX_KP_SERVER_AUTH
	    : szOID_PKIX_KP_CLIENT_AUTH};
    CERT_CHAIN_PARA para;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    HCERTSTORE extra = opts->extraStore;
    HCERTSTORE collection = NULL;
    long result = 0;
    WCHAR *wname = NULL;

    *reason = "ok";
    memset(&para, 0, sizeof(para));
    /* The whole structure: the revocation timeout is one of its extra
     * fields. (Wine 10 reads them only when cbSize is the older Windows 7
     * size; with this one it waits about 120 s for a CRL server that never
     * answers. Giving it the older size is worse: its downloads given up
     * on then crash the process a moment later.) */
    para.cbSize = sizeof(para);
    para.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
    para.RequestedUsage.Usage.cUsageIdentifier = 1;
    para.RequestedUsage.Usage.rgpszUsageIdentifier = usage;

    if (opts->numTrustedRoots > 0) {
	/* Let the chain engine find explicitly trusted roots. */
	collection = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0, NULL);
	HCERTSTORE mem = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
	if (collection == NULL || mem == NULL) {
	    result = (long) GetLastError();
	    *reason = "failed";
	    if (mem != NULL) {
		CertCloseStore(mem, 0);
	    }
	    goto done;
	}
	for (int i = 0; i < opts->numTrustedRoots; i++) {
	    CertAddCertificateContextToStore(mem, opts->trustedRoots[i],
		    CERT_STORE_ADD_USE_EXISTING, NULL);
	}
	CertAddStoreToCollection(collection, mem, 0, 0);
	CertCloseStore(mem, 0);
	if (extra != NULL) {
	    CertAddStoreToCollection(collection, extra, 0, 0);
	}
	extra = collection;
    }
    /* Revocation that is to be ignored is not checked at all: checking it
     * could only wait for downloads whose result is not used. */
    DWORD chainFlags = (opts->ignoreErrors & CERT_TRUST_IS_REVOKED) ? 0
	    : opts->revocationFlags;
    if (chainFlags != 0) {
	/* Online revocation checks wait for the network: at most this long
	 * for all their downloads together (then soft fail, see below). */
	para.dwUrlRetrievalTimeout = REVOCATION_TIMEOUT_MS;
	chainFlags |= CERT_CHAIN_REVOCATION_ACCUMULATIVE_TIMEOUT;
    }
    if (!CertGetCertificateChain(NULL, cert, NULL, extra, &para,
	    chainFlags, NULL, &chain)) {
	result = (long) GetLastError();
	*reason = "failed";
	goto done;
    }

    DWORD errors = chain->TrustStatus.dwErrorStatus & ~SOFT_FAIL_BITS
	    & ~opts->ignoreErrors;
    if ((errors & (CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_PARTIAL_CHAIN))
	    && opts->numTrustedRoots > 0 && IsTrustedRoot(chain, opts)) {
	errors &= ~(CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_PARTIAL_CHAIN);
    }
    for (const TrustReason *t = trustReasons; t->trustBit; t++) {
	if (errors & t->trustBit) {
	    result = t->status;
	    *reason = t->reason;
	    if (t->trustBit == CERT_TRUST_IS_NOT_TIME_VALID
		    && CertVerifyTimeValidity(NULL, cert->pCertInfo) < 0) {
		*reason = "notyetvalid";
	    }
	    if ((t->trustBit == CERT_TRUST_IS_UNTRUSTED_ROOT
		    || t->trustBit == CERT_TRUST_IS_PARTIAL_CHAIN)
		    && IsSelfSignedLeaf(chain)) {
		result = CERT_E_UNTRUSTEDROOT;
		*reason = "selfsigned";
	    }
	    goto done;
	}
    }

    /* The SSL policy (usage, name for DNS names, anything the platform
     * adds). Errors already judged above are told to be ignored. */
    int ipMatch = (opts->serverName != NULL && !opts->ignoreNameMismatch)
	    ? MatchIpAddress(cert, opts->serverName) : -1;
    /* A DNS name is only ever matched against dNSName entries: a
     * certificate without any (its name only in the subject CN) is refused,
     * as RFC 6125 and current browsers do, although the platform's SSL
     * policy would still fall back to the CN. */
    if (opts->serverName != NULL && ipMatch < 0 && !opts->ignoreNameMismatch
	    && !HasDnsAltName(cert)) {
	result = CERT_E_CN_NO_MATCH;
	*reason = "nosan";
	goto done;
    }
    SSL_EXTRA_CERT_CHAIN_POLICY_PARA ssl;
    memset(&ssl, 0, sizeof(ssl));
    ssl.cbSize = sizeof(ssl);
    ssl.dwAuthType = opts->serverCert ? AUTHTYPE_SERVER : AUTHTYPE_CLIENT;
    ssl.fdwChecks = SECURITY_FLAG_IGNORE_UNKNOWN_CA
	    | SECURITY_FLAG_IGNORE_REVOCATION
	    | (opts->ignoreNameMismatch ? SECURITY_FLAG_IGNORE_CERT_CN_INVALID : 0)
	    | ((opts->ignoreErrors & CERT_TRUST_IS_NOT_TIME_VALID)
		    ? SECURITY_FLAG_IGNORE_CERT_DATE_INVALID : 0)
	    | ((opts->ignoreErrors & CERT_TRUST_IS_NOT_VALID_FOR_USAGE)
		    ? SECURITY_FLAG_IGNORE_WRONG_USAGE : 0);
    if (opts->serverName != NULL && ipMatch < 0 && !opts->ignoreNameMismatch) {
	/* The whole name, however long: a truncated name could match a
	 * certificate made for its beginning. */
	int n = MultiByteToWideChar(CP_UTF8, 0, opts->serverName, -1, NULL, 0);
	if (n <= 0) {
	    result = CERT_E_CN_NO_MATCH;
	    *reason = "cnnotmatch";
	    goto done;
	}
	wname = (WCHAR *) ckalloc(n * sizeof(WCHAR));
	MultiByteToWideChar(CP_UTF8, 0, opts->serverName, -1, wname, n);
	ssl.pwszServerName = wname;
    }
    CERT_CHAIN_POLICY_PARA policy;
    CERT_CHAIN_POLICY_STATUS status;
    memset(&policy, 0, sizeof(policy));
    memset(&status, 0, sizeof(status));
    policy.cbSize = sizeof(policy);
    policy.pvExtraPolicyPara = &ssl;
    status.cbSize = sizeof(status);
    if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain,
	    &policy, &status)) {
	result = (long) GetLastError();
	*reason = "failed";
	goto done;
    }
    if (status.dwError != 0 && !(opts->numTrustedRoots > 0
	    && ((long) status.dwError == CERT_E_UNTRUSTEDROOT
		|| (long) status.dwError == CERT_E_CHAINING))) {
	result = (long) status.dwError;
	*reason = ReasonForStatus(result);
	goto done;
    }
    if (ipMatch == 0) {
	result = CERT_E_CN_NO_MATCH;
	*reason = "ipnotmatch";
    }

  done:
    if (wname != NULL) {
	ckfree(wname);
    }
    if (chain != NULL) {
	CertFreeCertificateChain(chain);
    }
    if (collection != NULL) {
	CertCloseStore(collection, 0);
    }
    return result;
}
