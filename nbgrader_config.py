"""nbgrader settings for the course directory (this folder is nbgrader's CourseDirectory.root).

Kept close to nbgrader's defaults so that stock `nbgrader` commands and this project's `autograder`
give the same results. The list of labs is not repeated here: it lives in curriculum.yml.
"""

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "ai-certification-labs"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# The stubs learners see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Re-insert graded cells a learner deleted, instead of failing the whole submission.
c.OverwriteCells.add_missing_cells = True
