"""The privacy officer's and the partners' view of the disclosure log, with no HTTP in it.

- `search`: pages of entries an officer may see (or a partner's own), and the logged look.
- `proofs`: RFC 9162 inclusion and consistency proofs from the stored tree.
- `reports`: the subject access report (AVG art. 15) in plain language.
- `review`: break-glass records opened for review, and the officer's judgement.
- `integrity`: the latest checkpoint verified and one entry proven included, from stored bytes.
- `activity`: exchanges per day and refusal patterns, from the counts storage gives.

An officer sees only the entries of the organisations it oversees (`gateway.policy.oversight`);
an entry it may not see is the same NotFound as one that is not there. The audit API
(`gateway.web.audit`) and the officer's pages (`gateway.officer`) both build on these.
"""
