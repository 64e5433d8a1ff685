"""Step 3, grade: every pending submission run in a sandboxed kernel, its grades recorded once.

Trusted side (the instructor's process, the only writer of the course's records):

- ``grade``: the ``autograder grade`` command: finds pending submissions, queues them, shows progress;
- ``gradebook``: nbgrader's config and folders, and the gradebook's one writer (nbgrader's own
  ``SaveAutoGrades`` and ``AssignLatePenalties`` do the recording);
- ``outcomes``: ``outcomes.json``, one durable verdict per learner and lab, which makes a run resumable;
- ``budget``: time limits derived from how long each lab's own solution runs;
- ``lock``: one grading run per course at a time.

Untrusted side (worker processes that host the learners' kernels; nothing here writes a grade):

- ``execute``: one notebook through nbgrader's autograde steps in a fresh kernel, results returned as data;
- ``sandbox``: the bubblewrap sandbox and resource limits each kernel starts in;
- ``tamper``: what the sandbox cannot stop, because learner code and tests share one kernel.
"""
