"""Step 3, grade: every pending submission run in a sandboxed kernel, its grades recorded once.

Trusted side (the instructor's process, the only writer of the course's records):

- ``grade``: the ``autograder grade`` command: finds pending submissions, queues them, shows progress;
- ``settings``: its timeouts, limits, workers and cluster, from the course's ``nbgrader_config.py``
  (``c.AutograderGrade.*``), the command line winning;
- ``backends``: where the notebooks run: a local process pool (the default) or a Dask cluster; both
  hand each result back as data to the one recorder;
- ``gradebook``: the gradebook's one writer and the snapshot workers read (nbgrader's own
  ``SaveAutoGrades`` and ``AssignLatePenalties`` do the recording);
- ``outcomes``: ``outcomes.json``, one durable verdict per learner and lab, which makes a run resumable;
- ``budget``: time limits derived from how long each lab's own solution runs;
- ``lock``: one grading run per course at a time.

Untrusted side (worker processes that host the learners' kernels; nothing here writes a grade):

- ``execute``: one notebook through nbgrader's autograde steps in a fresh kernel, results returned as data;
  its ``Worker`` holds one worker process's config and kernels (``dask_worker``: the same on Dask);
- ``sandbox``: the bubblewrap sandbox and resource limits each kernel starts in;
- ``tamper``: what the sandbox cannot stop, because learner code and tests share one kernel.
"""
