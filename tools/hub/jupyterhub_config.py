# JupyterHub on one server for a toplab workshop: local Unix users, one JupyterLab each, every
# lab started with a copy of the notebooks in ~/toplab and a memory limit (MEM_LIMIT) that the
# demo budget follows. See docs/workshop.md. tests/test_jupyterhub.py runs this same file.
#
#   jupyterhub -f tools/hub/jupyterhub_config.py      (as root, from the venv that has jupyterhub)
#
# Settings come from the environment, so the file stays as it is:
#   TOPLAB_DIR              the toplab checkout (built with `make build`); default: two folders up
#   TOPLAB_HUB_URL          where people connect, default http://127.0.0.1:8000
#   TOPLAB_HUB_PORT         the hub's own port on 127.0.0.1 (default 8081)
#   TOPLAB_HUB_PROXY_API    configurable-http-proxy's API URL (default http://127.0.0.1:8001)
#   TOPLAB_HUB_PROXY        the configurable-http-proxy command (default: found on PATH)
#   TOPLAB_HUB_USERS        who may log in, space separated (required: local users that exist)
#   TOPLAB_HUB_PASSWORD     one shared workshop password (8+ characters); unset: PAM, each
#                           user's own Unix password
#   TOPLAB_HUB_MEM_LIMIT    each lab's memory limit, default 1G; exported to it as MEM_LIMIT
#   TOPLAB_HUB_MEM_LIMITS   per-user exceptions: "alice=2G bob=768M"
#   TOPLAB_HUB_API_TOKEN    optional: a token for an admin service (scripts, the test)
#   TOPLAB_HUB_LANG         the start page every lab opens on: en (default) or ko
#   TOPLAB_HUB_SPAWN_ENV    optional: extra variables for every lab, "TOPLAB_FAST=1 TOPLAB_LANG=ko"
import os
import pwd
import shutil
import sys

c = get_config()  # noqa: F821 (JupyterHub provides it)

TOPLAB_DIR = os.path.abspath(os.environ.get("TOPLAB_DIR") or os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.dirname(sys.executable)  # the users' labs run from the hub's own venv


def _pairs(text):
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


# --- where it listens ---------------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("TOPLAB_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("TOPLAB_HUB_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = os.environ.get("TOPLAB_HUB_PROXY_API", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.command = [os.environ.get("TOPLAB_HUB_PROXY", "configurable-http-proxy")]
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every lab (and their kernels)

# --- who may log in -----------------------------------------------------------------------
c.Authenticator.allowed_users = set(os.environ.get("TOPLAB_HUB_USERS", "").split())
if os.environ.get("TOPLAB_HUB_PASSWORD"):
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["TOPLAB_HUB_PASSWORD"]
# else the default, PAM: local users log in with their own password

# --- each user's lab ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"  # runs as the user (the hub must run as root)
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
_lang = "ko" if os.environ.get("TOPLAB_HUB_LANG", "en").strip().lower().startswith("ko") else "en"
c.Spawner.default_url = f"/lab/tree/toplab/notebooks/{_lang}/00-start-here.ipynb"
c.Spawner.mem_limit = os.environ.get("TOPLAB_HUB_MEM_LIMIT", "1G")  # -> MEM_LIMIT, in bytes
c.Spawner.environment = {"TOPLAB_BIN_DIR": os.path.join(TOPLAB_DIR, "c_programs", "bin"),
                         **_pairs(os.environ.get("TOPLAB_HUB_SPAWN_ENV", ""))}
c.Spawner.start_timeout = 180  # five labs starting at once on two cores take a while
c.Spawner.http_timeout = 180
_LIMITS = _pairs(os.environ.get("TOPLAB_HUB_MEM_LIMITS", ""))


def _before_spawn(spawner):
    """Give the user a copy of the notebooks (once) and their own memory limit, if they have one."""
    name = spawner.user.name
    if name in _LIMITS:
        spawner.mem_limit = _LIMITS[name]
    pw = pwd.getpwnam(name)
    dest = os.path.join(pw.pw_dir, "toplab", "notebooks")
    if not os.path.isdir(dest):
        shutil.copytree(os.path.join(TOPLAB_DIR, "notebooks"), dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for root, dirs, files in os.walk(os.path.join(pw.pw_dir, "toplab")):
            for n in [root, *(os.path.join(root, f) for f in dirs + files)]:
                os.chown(n, pw.pw_uid, pw.pw_gid)


c.Spawner.pre_spawn_hook = _before_spawn

# --- an admin service for scripts (optional) ----------------------------------------------
if os.environ.get("TOPLAB_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "toplab-admin", "api_token": os.environ["TOPLAB_HUB_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "toplab-admin", "services": ["toplab-admin"],
                                "scopes": ["admin:users", "admin:servers", "access:servers"]}]
