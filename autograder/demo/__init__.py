"""The README's ``make demo``: a generated sample cohort through the whole pipeline. Not product code.

- ``run``: the ``autograder demo`` command, in a throwaway workspace;
- ``cohort``: sample learners, their notebooks and the LMS download they arrive in;
- ``samples``: sample submissions of a lab built from its solution and answer bank (also used by the tests).
"""
