"""The learner's JupyterLab (`make lab`): the labs without the instructor's nbgrader tools or news.

`make lab` points JUPYTER_CONFIG_DIR at this folder, so only that command reads it; an instructor's
`jupyter lab` (or `autograder`) started normally keeps nbgrader's formgrader. Installing nbgrader
(one dependency list for everyone) enables its server extensions for every Jupyter server; this turns
them off again, labconfig/page_config.json hides its lab extension (the Nbgrader menu, "Validate",
the "Create Assignment" and formgrader panels), and settings/overrides.json answers JupyterLab's
"get Jupyter news?" question with no (also fetched from nowhere: news_url is None).

Because this folder replaces ~/.jupyter as the config folder, the learner's own JupyterLab settings
and workspaces are pointed back at ~/.jupyter, where JupyterLab keeps them by default, so nothing
is written into the repository.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (traitlets provides it)

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
}
c.LabApp.news_url = None
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "settings")
c.LabApp.user_settings_dir = str(Path.home() / ".jupyter" / "lab" / "user-settings")
c.LabApp.workspaces_dir = str(Path.home() / ".jupyter" / "lab" / "workspaces")
