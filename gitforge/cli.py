"""The `gitforge` command."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import shlex
import signal
import sys

import click

from gitforge.config import DEFAULT_HOME, Config
from gitforge.store.errors import StoreError

log = logging.getLogger(__name__)


def with_home(command=None, *, may_be_empty: bool = False):
    """Give a command `--home DIR`; the config it names is passed as `config`.

    GITFORGE_HOME is set for the rest of the process so that the task queue,
    chosen at import, lives in the same home. A home without a site is
    refused with a hint to create one, unless the command `may_be_empty`
    (init, serve), before the command touches anything.
    """
    if command is None:
        return functools.partial(with_home, may_be_empty=may_be_empty)

    @click.option(
        "--home",
        envvar="GITFORGE_HOME",
        default=DEFAULT_HOME,
        show_default=True,
        type=click.Path(file_okay=False),
        help="The data home (env: GITFORGE_HOME).",
    )
    @functools.wraps(command)
    def wrapper(home, **kwargs):
        os.environ["GITFORGE_HOME"] = os.path.abspath(home)
        config = Config.load(home)
        if not may_be_empty:
            _refuse_a_home_without_site(config)
        try:
            return command(config=config, **kwargs)
        except StoreError as err:
            raise click.ClickException(str(err)) from None

    return wrapper


def _refuse_a_home_without_site(config: Config) -> None:
    from gitforge.tasks.site import is_initialised

    if not is_initialised(config):
        home = shlex.quote(str(config.home))
        raise click.ClickException(
            f"no gitforge site in {config.home}: create one with "
            f"`gitforge init --home {home}` (or `gitforge serve --home {home}`, "
            "which creates one on its first start)"
        )


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.version_option(package_name="gitforge")
def main(verbose: bool) -> None:
    """gitforge: a software forge whose tickets live in git."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--admin", default="admin", show_default=True, help="Admin name.")
@click.option("--email", default="admin@localhost", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@with_home(may_be_empty=True)
def init(config: Config, admin: str, email: str, password_stdin: bool) -> None:
    """Create the data home, the site repo and an admin account."""
    from gitforge.store.site import NewUser
    from gitforge.tasks.site import init_site, is_initialised

    if is_initialised(config):
        raise click.ClickException(f"{config.home} already holds a site")
    password = _read_password(password_stdin)
    init_site(config, NewUser(admin, email, password=password, admin=True))
    click.echo(f"Created a site in {config.home}; admin account: {admin}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, help="Task threads.")
@with_home(may_be_empty=True)
def serve(config: Config, host: str, port: int, workers: int) -> None:
    """Run the web app and the task consumer in one process."""
    logging.getLogger("gitforge").setLevel(logging.INFO)
    from werkzeug.serving import make_server

    from gitforge.hooks.install import repair_hooks
    from gitforge.hooks.service import HookService
    from gitforge.tasks.maintenance import add_merge_attributes
    from gitforge.tasks.queue import start_consumer
    from gitforge.web.app import create_app, warm_up

    _first_start(config, host, port)
    repair_hooks(config.home)
    add_merge_attributes(config)
    reconciler = _start_reconciler(config)
    hook_service = HookService(config.home).start()
    consumer = start_consumer(workers)
    app = create_app(config)
    warm_up(app)
    server = make_server(host, port, app, threaded=True)
    _note_served_url(config, f"http://{host}:{server.port}")
    signal.signal(signal.SIGTERM, _exit_on_signal)
    click.echo(f"gitforge serving {config.home} on http://{host}:{server.port}/")
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        consumer.stop(graceful=True)
        _stop_reconciler(reconciler)
        _stop_hook_service(hook_service)


def _note_served_url(config: Config, url: str) -> None:
    """Where this server answers, for the links the hooks print while no
    `site_url` is set (gitforge.hooks.offers)."""
    (config.home / "run").mkdir(exist_ok=True)
    (config.home / "run" / "url").write_text(url + "\n")


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def _start_reconciler(config: Config):
    """The thread that syncs repos moved without a hook; None when the
    site turned it off."""
    from gitforge.tasks.reconciler import Reconciler, reconcile_enabled

    try:
        enabled = reconcile_enabled(config)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    return Reconciler(config).start() if enabled else None


def _stop_reconciler(reconciler) -> None:
    if reconciler is not None:
        reconciler.stop()


def _stop_hook_service(service) -> None:
    if service is not None:
        service.stop()


def _first_start(config: Config, host: str, port: int) -> None:
    """On an empty home, set up a site so the first command shows a forge."""
    from gitforge.store.site import NewUser
    from gitforge.tasks.site import init_site, is_initialised

    if is_initialised(config):
        return
    password = secrets.token_urlsafe(12)
    init_site(
        config, NewUser("admin", "admin@localhost", password=password, admin=True)
    )
    click.echo(
        f"New site in {config.home}.\n"
        f"Log in at http://{host}:{port}/login as admin with password {password}\n"
        "(change it, or run `gitforge init` yourself to choose one)."
    )


@main.group()
def project() -> None:
    """Create, import and fork projects."""


_OWNER_HELP = "Owning user.  [default: the site's admin, if it has only one]"


def _only_admin(config: Config) -> str:
    """The owner of a project made without --owner: the site's admin, as
    `gitforge init` made it. With several admins (or none) there is no
    right guess."""
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        # Not yet: reads every user file, as SiteRepo.add_user does.
        admins = sorted(user["name"] for user in site.users() if user.get("admin"))
    if len(admins) == 1:
        return admins[0]
    found = f"several admins ({', '.join(admins)})" if admins else "no admin"
    raise click.UsageError(f"the site has {found}: choose the owner with --owner")


@project.command("create")
@click.argument("name")
@click.option("--description", default="", help="One line about the project.")
@click.option("--owner", help=_OWNER_HELP)
@click.option("--private", is_flag=True, help="Absent for all without access.")
@with_home
def project_create(
    config: Config, name: str, description: str, owner: str | None, private: bool
) -> None:
    """Create project NAME (or NAMESPACE/NAME) with empty repos."""
    from gitforge.tasks.projects import create_project

    owner = owner or _only_admin(config)
    create_project(config, name, owner, description, private=private)
    click.echo(f"Created {'private ' if private else ''}project {name}")


@project.command("import")
@click.argument("name")
@click.argument("source")
@click.option("--description", default="", help="One line about the project.")
@click.option("--owner", help=_OWNER_HELP)
@click.option("--private", is_flag=True, help="Absent for all without access.")
@with_home
def project_import(
    config: Config,
    name: str,
    source: str,
    description: str,
    owner: str | None,
    private: bool,
) -> None:
    """Create project NAME with every branch and tag of the git repo SOURCE."""
    from gitforge.tasks.projects import create_project

    owner = owner or _only_admin(config)
    progress = sys.stderr.isatty()
    create_project(config, name, owner, description, source=source,
                   show_progress=progress, private=private)  # fmt: skip
    what = "private project" if private else "project"
    click.echo(f"Imported {source} as {what} {name}")


@project.command("fork")
@click.argument("name")
@click.option("--user", "user_name", required=True, help="Who the fork is for.")
@with_home
def project_fork(config: Config, name: str, user_name: str) -> None:
    """Fork project NAME for USER, as forks/USER/NAME."""
    from gitforge.store.layout import fork_fullname
    from gitforge.tasks.forks import fork_project

    fork_project(config, name, user_name)
    click.echo(f"Forked {name} as {fork_fullname(user_name, name)}")


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--full-name", default="")
@click.option("--admin", "is_admin", is_flag=True, help="Make a site admin.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--no-password", is_flag=True, help="An account that cannot log in.")
@with_home
def user_add(config: Config, name: str, email: str, full_name: str, is_admin: bool,
             password_stdin: bool, no_password: bool) -> None:  # fmt: skip
    """Add user NAME."""
    from gitforge.store.site import NewUser
    from gitforge.tasks.site import add_user

    password = None if no_password else _read_password(password_stdin)
    add_user(config, NewUser(name, email, full_name, password, is_admin))
    click.echo(f"Added user {name}")


@main.command()
@with_home
def reindex(config: Config) -> None:
    """Drop the index and rebuild it from git."""
    from gitforge.index.db import make_engine, reset
    from gitforge.index.sync import sync_all

    engine = make_engine(config.database_url)
    reset(engine)
    with click.progressbar(length=_project_count(config), label="reindex") as bar:
        results = sync_all(engine, config.repositories, lambda _name: bar.update(1))
    changed = sum(len(result.changed) for result in results)
    click.echo(f"Reindexed {len(results)} repos, {changed} documents")


@main.command()
@click.option("--repair", is_flag=True, help="Re-sync in full each repo that differs.")
@with_home
def fsck(config: Config, repair: bool) -> None:
    """Compare the index with git, repo by repo; exit 1 when they differ
    (with --repair: when they still differ after the repair)."""
    from gitforge.index.db import engine_for
    from gitforge.index.fsck import check_index, repair_index

    engine = engine_for(config)
    report = check_index(engine, config.repositories)
    _show_differences(report)
    if report.clean:
        click.echo(f"The index matches git in all {len(report.repos)} repos")
        return
    differing = len(report.differing_repos)
    if not repair:
        click.echo(f"{differing} of {len(report.repos)} repos differ from git; "
                   "`gitforge fsck --repair` re-syncs them")  # fmt: skip
        raise SystemExit(1)
    synced, missing = repair_index(engine, config.repositories, report)
    for relpath in synced:
        click.echo(f"Re-synced {relpath}")
    for relpath in missing:
        click.echo(f"Cannot re-sync {relpath}: it is not on disk")
    after = check_index(engine, config.repositories)
    _show_differences(after)
    if not after.clean:
        click.echo(f"{len(after.differing_repos)} repos still differ from git")
        raise SystemExit(1)
    click.echo(f"Repaired {differing} repos; the index now matches git")


def _show_differences(report) -> None:
    for difference in report.differences:
        click.echo(str(difference))


def _project_count(config: Config) -> int:
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        return sum(1 for _ in site.snapshot().walk("projects"))


@main.command()
@click.option("--workers", default=2, show_default=True, help="Task threads.")
@with_home
def worker(config: Config, workers: int) -> None:
    """Run a task consumer alone (for the scale-out setup)."""
    logging.getLogger("gitforge").setLevel(logging.INFO)
    from gitforge.hooks.install import repair_hooks
    from gitforge.hooks.service import HookService
    from gitforge.tasks.maintenance import add_merge_attributes
    from gitforge.tasks.queue import make_consumer

    repair_hooks(config.home)
    add_merge_attributes(config)
    reconciler = _start_reconciler(config)
    hook_service = HookService(config.home).start()
    click.echo(f"gitforge worker on {config.home} running; Ctrl-C stops it")
    try:
        make_consumer(workers).run()  # stops gracefully on SIGINT or SIGTERM
    finally:
        _stop_reconciler(reconciler)
        _stop_hook_service(hook_service)


@main.group()
def hooks() -> None:
    """Manage the git hooks of the site's repositories."""


@hooks.command("install")
@with_home
def hooks_install(config: Config) -> None:
    """Write the hooks of every repository anew, for this interpreter and
    home (after moving a virtualenv or the home). `serve` and `worker` do
    this at start for hooks that point elsewhere."""
    from gitforge.hooks.install import install_all_hooks

    written, stale = install_all_hooks(config.home)
    click.echo(
        f"Rewrote the hooks of {written} repositories "
        f"({stale} of them pointed at another interpreter or home)"
    )


def _add_commands() -> None:
    """The commands that live in modules of their own."""
    from gitforge.access_cli import access_group, group_group, key_group
    from gitforge.gitolite_cli import gitolite_command
    from gitforge.import_cli import import_group
    from gitforge.merge_driver_cli import merge_driver
    from gitforge.offline_cli import requests, tickets
    from gitforge.token_cli import token_group

    for command in (import_group, merge_driver, tickets, requests, group_group,
                    access_group, key_group, token_group,
                    gitolite_command):  # fmt: skip
        main.add_command(command)


_add_commands()
