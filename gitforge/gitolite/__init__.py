"""Git over ssh through gitolite: its rules, keydir and rc made from the site.

gitolite authenticates ssh keys and checks every ref of a push against
rules; gitforge writes those rules from the site repo, asking the one
access policy (gitforge.policy) for every decision, and runs gitolite only
to compile them. Everything lives in `<home>/gitolite` (see docs/ssh.md):

    state.py        the site's users, groups, projects, private tickets
    conf.py         gitolite.conf from that state
    keydir.py       keydir/<user>@<n>.pub from the users' ssh keys
    rc.py           .gitolite.rc, pointing gitolite at <home>/repositories
    update_hook.py  gitolite's update hook, run for pushes over ssh only
    files.py        atomic writes
    compile.py      write what changed and run gitolite only then
    trigger.py      queue the refresh after a sync, when the site uses gitolite
"""
