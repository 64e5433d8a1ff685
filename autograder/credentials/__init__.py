"""Step 5, certify: signed Open Badges 3.0 credentials that anyone can check without us.

- ``keys``: the course's Ed25519 issuer key pair and its published issuer profile;
- ``openbadge``: build an ``OpenBadgeCredential``, sign it, check its signature and schema;
- ``data_integrity`` and ``jsonld``: W3C Data Integrity proofs (eddsa-rdfc-2022, eddsa-jcs-2022) over
  pinned JSON-LD contexts (``contexts/``), never fetched;
- ``certify``: the ``autograder certify`` command: who meets a track's rule, their credential and page;
- ``ledger`` and ``status_list``: the record of what was issued, and the signed revocation list;
- ``verify``: ``autograder verify`` and ``autograder revoke``;
- ``verify_page``: the offline ``verify.html`` an employer opens in a browser (``assets/``).
"""
