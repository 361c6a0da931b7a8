/* The daemon's files in the runtime directory (rundir.h): the lock, the
 * control socket and the state file of what it added (owned.h). */
#include "daemon_int.h"
#include "owned.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The interface's lock, before anything is touched: a second daemon
 * would take over the control socket and the first would look dead. */
static int take_lock(struct daemon *d)
{
	long holder;
	d->lock = control_lock(d->rundir, d->name, d->lock_path, sizeof(d->lock_path), &holder);
	if (d->lock == -EWOULDBLOCK) {
		if (holder > 0)
			log_errorx("wirelink already runs on %s (pid %ld)", d->cfg->iface, holder);
		else
			log_errorx("wirelink already runs on %s (it holds %s)", d->cfg->iface, d->lock_path);
		return -EEXIST;
	}
	if (d->lock < 0) /* not root, say: nothing to take over either */
		log_warnx("cannot take %s (%s): not checking for another wirelink on %s", d->lock_path,
			  strerror(-d->lock), d->cfg->iface);
	return 0;
}

/* The state directory, given to User: now (it must replace its file there
 * after dropping root), and what an earlier run added. */
static void open_state(struct daemon *d)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	const struct passwd *pw = d->cfg->user[0] ? getpwnam(d->cfg->user) : NULL;
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	char why[400];
	bool untrusted;
	d->state_dir = rundir_state_dir(d->rundir, d->name, uid, gid, &untrusted, why, sizeof(why));
	if (d->state_dir < 0) {
		log_warnx("%s: after a restart, what this run added counts as configured by hand", why);
		return;
	}
	snprintf(d->owned_path, sizeof(d->owned_path), "%s/%s/owned", CONTROL_DIR, d->name);
	if (untrusted) {
		log_warnx("%s: taken back; what an earlier run added there is not trusted", why);
		unlinkat(d->state_dir, "owned", 0);
		return;
	}
	if (owned_load(d->state_dir, "owned", d->dev->ifindex, d->eng) > 0) {
		log_debug("adopted what an earlier run added, from %s", d->owned_path);
		return;
	}
	/* Where earlier versions kept it (the host's namespace only). */
	char legacy[RUNDIR_NAME_MAX + 8];
	snprintf(legacy, sizeof(legacy), "%s.owned", d->name);
	if (owned_load(d->rundir, legacy, d->dev->ifindex, d->eng) > 0)
		log_debug("adopted what an earlier run added, from %s/%s", CONTROL_DIR, legacy);
	unlinkat(d->rundir, legacy, 0);
}

int daemon_files_open(struct daemon *d)
{
	if (rundir_name(d->cfg->iface, d->name) != 0) {
		log_errorx("%s: the interface name is too long", d->cfg->iface);
		return -ENAMETOOLONG;
	}
	char why[400];
	d->rundir = rundir_open(CONTROL_DIR, why, sizeof(why));
	if (d->rundir == -EPERM || d->rundir == -ENOTDIR) {
		log_errorx("refusing the runtime directory: %s", why);
		return d->rundir;
	}
	if (d->rundir < 0) {
		log_warnx("%s: no lock, control socket or state file for %s", why, d->cfg->iface);
		return 0;
	}
	return take_lock(d);
}

/* After the device is read (the state file names its index). */
void daemon_files_load(struct daemon *d)
{
	if (d->rundir >= 0)
		open_state(d);
}

int daemon_control_open(struct daemon *d, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s.sock", CONTROL_DIR, d->name);
	if (d->rundir < 0)
		return -ENOENT;
	return control_open(d->rundir, d->name, d->cfg->control_group, path, pathlen);
}

void daemon_save_owned(struct daemon *d)
{
	uint64_t gen = engine_owned_gen(d->eng);
	if (d->state_dir < 0 || gen == d->owned_gen)
		return;
	int err = owned_save(d->state_dir, "owned", d->dev->ifindex, d->eng);
	if (!err)
		d->owned_gen = gen;
	else if (!d->owned_said) {
		d->owned_said = true;
		log_warnx("cannot keep %s (%s): after a restart, what this run added counts as "
			  "configured by hand", d->owned_path, strerror(-err));
	}
}

void daemon_files_close(struct daemon *d)
{
	if (d->ctl_path[0])
		unlink(d->ctl_path); /* fails harmlessly after dropping root */
	if (d->lock >= 0) {
		unlink(d->lock_path); /* before closing: control_lock checks it locked the file named */
		close(d->lock);
	}
	if (d->state_dir >= 0)
		close(d->state_dir);
	if (d->rundir >= 0)
		close(d->rundir);
}
