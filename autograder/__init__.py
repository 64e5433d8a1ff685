"""The instructor's side of AI Certification Labs: release, import, grade, feedback, export, certify.

Built on nbgrader's own converters and gradebook; the course is described once, in curriculum.yml.
"""

__version__ = "0.1.0"
