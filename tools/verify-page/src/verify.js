// The offline certificate verification page's logic, bundled by esbuild into
// autograder/assets/verify-bundle.js (see ../README.md). It checks an Open Badges 3.0 credential
// against the TRUSTED issuer inlined in the page, with no network:
//   proof      DataIntegrityProof, eddsa-rdfc-2022 (jsonld.js RDFC-1.0, safe mode) or eddsa-jcs-2022 (RFC 8785)
//   signature  Ed25519 and SHA-256 with the browser's Web Crypto API
//   issuer     did:key (multicodec 0xed01 + 32 bytes) must be the trusted issuer's key
//   dates      validFrom passed, validUntil not passed
//   status     W3C Bitstring Status List v1.0, when the list file is given (or fetchable over http(s))
// Everything read from a file is data: the page renders it with textContent only.
import jsonld from 'jsonld';
import canonicalize from 'canonicalize';
import * as base58 from 'base58-universal';

const PROOF_TYPE = 'DataIntegrityProof';
const SUITES = ['eddsa-rdfc-2022', 'eddsa-jcs-2022'];
const ED25519_PUB = [0xed, 0x01];
const MIN_BITS = 131072;

/** A documentLoader that serves only the contexts pinned in the page; anything else is an error naming the URL. */
export function makeLoader(contexts) {
  const loader = async (url) => {
    if (Object.prototype.hasOwnProperty.call(contexts, url)) {
      return {contextUrl: null, documentUrl: url, document: contexts[url]};
    }
    loader.unknown = url;  // jsonld.js wraps this error in a generic one; checkProof names the URL from here
    throw new Error(`unknown JSON-LD context ${url}`);
  };
  return loader;
}

/** The raw 32-byte Ed25519 key of a did:key / its verification method; throws with the reason. */
export function didKeyBytes(id) {
  const match = /^did:key:(z[1-9A-HJ-NP-Za-km-z]+)(?:#(z[1-9A-HJ-NP-Za-km-z]+))?$/.exec(String(id));
  if (!match) throw new Error(`${id} is not a did:key (did:key:z6Mk...#z6Mk...)`);
  if (match[2] && match[2] !== match[1]) throw new Error(`${id}: the key after '#' differs from the did:key`);
  const raw = base58.decode(match[1].slice(1));
  if (raw.length !== 34 || raw[0] !== ED25519_PUB[0] || raw[1] !== ED25519_PUB[1]) {
    throw new Error(`${id} is not an Ed25519 did:key (expected multicodec 0xed01 and 32 bytes)`);
  }
  return raw.slice(2);
}

const sha256 = async (text) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

async function canonical(document, suite, loader) {
  if (suite === 'eddsa-jcs-2022') return canonicalize(document);
  return jsonld.canonize(document, {
    algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader: loader, safe: true,
  });
}

function safeModeMessage(error) {
  // jsonld.js reports dropped (undefined) terms as "Safe mode validation error." with details.
  const details = error && error.details;
  const event = details && details.event;
  const term = event && event.details && (event.details.property || event.details.term || event.details.type);
  if (String(error && error.message).includes('Safe mode')) {
    return 'it contains a field the Open Badges / VC contexts do not define' + (term ? ` ("${term}")` : '') +
      ', so the signature would not cover it';
  }
  return null;
}

/**
 * Check one Data Integrity proof on `document` against the trusted raw key.
 * Returns null when valid, else the reason (a sentence).
 */
export async function checkProof(document, trustedKey, contexts) {
  let proof = document.proof;
  if (Array.isArray(proof)) {
    if (proof.length > 1) return `it carries ${proof.length} proofs; this page checks credentials with exactly one`;
    proof = proof[0];
  }
  if (!proof || typeof proof !== 'object') return 'it carries no proof (signature), so nothing shows who issued it';
  if (proof.type !== PROOF_TYPE || !SUITES.includes(proof.cryptosuite)) {
    return `its proof is ${proof.type}/${proof.cryptosuite}; this page checks ${PROOF_TYPE} with ${SUITES.join(' or ')}`;
  }
  if (proof.proofPurpose !== 'assertionMethod') return "its proof is not an assertion (proofPurpose must be 'assertionMethod')";
  let methodKey;
  try {
    methodKey = didKeyBytes(proof.verificationMethod);
  } catch (error) {
    return `its proof's verificationMethod is unusable: ${error.message}`;
  }
  if (!equalBytes(methodKey, trustedKey)) return 'WRONG_KEY';
  const {proofValue, ...options} = proof;
  const unsecured = {...document};
  delete unsecured.proof;
  const docContext = [].concat(unsecured['@context'] || []);
  if (options['@context'] !== undefined) {
    const proofContext = [].concat(options['@context']);
    if (proofContext.some((value, i) => JSON.stringify(value) !== JSON.stringify(docContext[i]))) {
      return 'its @context was changed after signing';
    }
  } else {
    options['@context'] = unsecured['@context'];
  }
  let signature;
  try {
    if (typeof proofValue !== 'string' || !proofValue.startsWith('z')) throw new Error('not base58btc');
    signature = base58.decode(proofValue.slice(1));
  } catch (error) {
    return 'its proofValue is not a base58btc multibase signature';
  }
  const loader = makeLoader(contexts);
  let data;
  try {
    const [configHash, documentHash] = await Promise.all([
      canonical(options, proof.cryptosuite, loader).then(sha256),
      canonical(unsecured, proof.cryptosuite, loader).then(sha256),
    ]);
    data = new Uint8Array(64);
    data.set(configHash, 0);
    data.set(documentHash, 32);
  } catch (error) {
    if (loader.unknown) {
      return `it uses the JSON-LD context ${loader.unknown}, which this page does not hold (it has only ` +
        `${Object.keys(contexts).join(' and ')}); contexts are never fetched from the network`;
    }
    return safeModeMessage(error) || `it cannot be canonicalised as JSON-LD (${error.message})`;
  }
  let valid = false;
  try {
    const key = await crypto.subtle.importKey('raw', trustedKey, {name: 'Ed25519'}, false, ['verify']);
    valid = await crypto.subtle.verify({name: 'Ed25519'}, key, signature, data);
  } catch (error) {
    return `the signature cannot be checked in this browser (${error.message}); use a current Chrome, Edge, Firefox or Safari`;
  }
  return valid ? null
    : 'the signature does not match its content: it was changed after signing, or signed with another key';
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function issuerId(document) {
  const issuer = document.issuer;
  return issuer && typeof issuer === 'object' ? issuer.id : issuer;
}

function parseDate(text) {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return null;
  const moment = new Date(text);
  return Number.isNaN(moment.getTime()) ? null : moment;
}

function base64urlBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The learner-facing facts the page shows (all strings, rendered with textContent). */
export function summary(credential) {
  const subject = (credential && credential.credentialSubject) || {};
  const achievement = subject.achievement || {};
  const identifiers = Array.isArray(subject.identifier) ? subject.identifier : [];
  const find = (type) => (identifiers.find((entry) => entry && entry.identityType === type) || {}).identityHash;
  const descriptions = Array.isArray(achievement.resultDescription) ? achievement.resultDescription : [];
  const results = (Array.isArray(subject.result) ? subject.result : []).map((result) => {
    const description = descriptions.find((d) => d && d.id === result.resultDescription) || {};
    return {
      lab: String(description.name || result.resultDescription || '?').split(' (')[0],
      value: String(result.value ?? ''), required: String(description.requiredValue ?? ''),
    };
  });
  const issuer = credential.issuer && typeof credential.issuer === 'object' ? credential.issuer : {};
  return {
    name: String(find('name') ?? ''), learnerId: String(find('identifier') ?? ''),
    track: String(achievement.name ?? ''), validFrom: String(credential.validFrom ?? ''),
    validUntil: String(credential.validUntil ?? ''), issuer: String(issuer.name ?? issuerId(credential) ?? ''),
    id: String(credential.id ?? ''), results,
  };
}

/**
 * Verify a credential file's text against the trusted issuer profile, with an optional
 * status-list credential. Returns {state, verdict, reasons, notes, summary}:
 *   state 'valid'      every check passed, revocation included (or the credential has no status entry);
 *   state 'unchecked'  signature, issuer and dates pass but revocation could not be checked (no list):
 *                      the verdict says "VALID signature — revocation NOT checked", never a plain VALID;
 *   state 'invalid'    at least one check failed or could not be made (fail closed).
 */
export async function verifyCredential({credentialText, statusText = null, issuer, contexts, now = new Date(),
  fetchStatusList = null}) {
  const reasons = [];
  const notes = [];
  const trustedName = (issuer && issuer.name) || 'the trusted issuer';
  let credential;
  try {
    credential = JSON.parse(credentialText);
  } catch (error) {
    return invalid([`the credential file is not JSON (${error.message}); drop the .json credential file, not the certificate page or a PDF`]);
  }
  if (!credential || typeof credential !== 'object' || Array.isArray(credential)) {
    return invalid(['the credential file is not a JSON object, so not a credential']);
  }
  const types = [].concat(credential.type || []);
  if (!types.includes('VerifiableCredential') || !types.includes('OpenBadgeCredential')) {
    return invalid(['it is not an OpenBadgeCredential (its type must list VerifiableCredential and OpenBadgeCredential)'], credential);
  }
  let trustedKey;
  try {
    trustedKey = didKeyBytes(issuer.id);
  } catch (error) {
    return invalid([`this page's trusted issuer is unusable (${error.message}); download the page again from the issuer`], credential);
  }

  // Issuer, key and signature.
  if (issuerId(credential) !== issuer.id) {
    reasons.push(`not issued by ${trustedName}: it names the issuer ${issuerId(credential)}, not ${issuer.id}`);
  }
  const proofProblem = await checkProof(credential, trustedKey, contexts);
  if (proofProblem === 'WRONG_KEY') {
    reasons.push(`not issued by ${trustedName}: it was signed with another key (${(credential.proof || {}).verificationMethod})`);
  } else if (proofProblem) {
    reasons.push(`signature check failed: ${proofProblem}`);
  }

  // Dates.
  const from = parseDate(credential.validFrom);
  if (!from) reasons.push(`its issue date (validFrom) is missing or malformed: ${credential.validFrom}`);
  else if (from > now) reasons.push(`not valid yet: valid from ${credential.validFrom}`);
  if (credential.validUntil !== undefined) {
    const until = parseDate(credential.validUntil);
    if (!until) reasons.push(`its expiry date (validUntil) is malformed: ${credential.validUntil}`);
    else if (until <= now) reasons.push(`expired: it was valid until ${credential.validUntil} (checked at ${now.toISOString().slice(0, 19)}Z)`);
  }

  // Revocation (W3C Bitstring Status List v1.0).
  const entries = [].concat(credential.credentialStatus || []);
  let unchecked = false;
  if (!entries.length && statusText !== null) notes.push('the status list given was not needed: this credential has no credentialStatus');
  for (const entry of entries) {
    const outcome = await checkStatus(entry, statusText, {issuer, trustedKey, contexts, now, fetchStatusList});
    if (outcome.reason) reasons.push(outcome.reason);
    if (outcome.note) notes.push(outcome.note);
    if (outcome.unchecked) unchecked = true;
  }

  if (reasons.length) return invalid(reasons, credential, notes);
  if (unchecked) return {state: 'unchecked', verdict: 'VALID signature — revocation NOT checked', reasons, notes, summary: summary(credential)};
  return {state: 'valid', verdict: 'VALID', reasons, notes, summary: summary(credential)};
}

function invalid(reasons, credential = null, notes = []) {
  return {state: 'invalid', verdict: 'INVALID', reasons, notes, summary: credential ? summary(credential) : null};
}

async function checkStatus(entry, statusText, {issuer, trustedKey, contexts, now, fetchStatusList}) {
  if (!entry || typeof entry !== 'object' || entry.type !== 'BitstringStatusListEntry') {
    return {reason: `its credentialStatus is not a BitstringStatusListEntry (${entry && entry.type}), so revocation cannot be checked`};
  }
  const url = entry.statusListCredential;
  const index = entry.statusListIndex;
  if (typeof url !== 'string' || typeof index !== 'string' || !/^(0|[1-9]\d*)$/.test(index)) {
    return {reason: 'its credentialStatus lacks a statusListCredential URL or a decimal statusListIndex, so revocation cannot be checked'};
  }
  if (statusText === null && fetchStatusList) {
    try {
      statusText = await fetchStatusList(url);
    } catch (error) {
      statusText = null;
    }
  }
  if (statusText === null) {
    return {unchecked: true, note: `revocation not checked: drop the status list file (status-list.json from ${url})`};
  }
  let list;
  try {
    list = JSON.parse(statusText);
  } catch (error) {
    return {reason: `the status list file is not JSON (${error.message}); drop status-list.json from ${url}`};
  }
  if (!list || typeof list !== 'object' || list.id !== url) {
    return {reason: `the status list file given is ${list && list.id}, but this credential's status is kept in ${url}; drop that file`};
  }
  const listTypes = [].concat(list.type || []);
  if (!listTypes.includes('BitstringStatusListCredential')) {
    return {reason: 'the status list file is not a BitstringStatusListCredential'};
  }
  if (issuerId(list) !== issuer.id) return {reason: `the status list was not issued by ${issuer.name} (it names ${issuerId(list)})`};
  const problem = await checkProof(list, trustedKey, contexts);
  if (problem === 'WRONG_KEY') return {reason: `the status list was not signed by ${issuer.name}'s key`};
  if (problem) return {reason: `the status list's signature check failed: ${problem}`};
  const until = list.validUntil !== undefined ? parseDate(list.validUntil) : undefined;
  if (until === null || (until && until <= now)) return {reason: `the status list has expired (validUntil ${list.validUntil}); get a current status-list.json from ${url}`};
  const subject = list.credentialSubject || {};
  if (subject.type !== 'BitstringStatusList' || subject.statusPurpose !== entry.statusPurpose) {
    return {reason: `the status list is not a BitstringStatusList for '${entry.statusPurpose}' (it is ${subject.type} for '${subject.statusPurpose}')`};
  }
  let bits;
  try {
    if (typeof subject.encodedList !== 'string' || !subject.encodedList.startsWith('u')) throw new Error("it does not start with 'u'");
    bits = await gunzip(base64urlBytes(subject.encodedList.slice(1)));
  } catch (error) {
    return {reason: `the status list's encodedList cannot be decoded (multibase base64url of a GZIP bitstring): ${error.message}`};
  }
  const position = Number(index);
  if (bits.length * 8 < MIN_BITS || position >= bits.length * 8) {
    return {reason: `the status list is too short (${bits.length * 8} bits) for index ${index}`};
  }
  const bit = (bits[position >> 3] >> (7 - (position & 7))) & 1;
  if (bit === 1) return {reason: `${entry.statusPurpose === 'revocation' ? 'revoked' : entry.statusPurpose}: the issuer's status list (${url}) marks index ${index}`};
  return {note: `revocation checked: not revoked (status list ${url}, index ${index})`};
}
