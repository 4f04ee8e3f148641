/*
 * test_ephemeral.c - the disk-backed /tmp (ephemeral.h) on this machine's kernel: templates
 * made once per size, what a mounted copy looks like to a function (ext4, EphemeralStorage's
 * size free, 1777, empty), that the loop device and the image go away with the namespace,
 * and the tmpfs fallback with its note. Root only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "engine/ephemeral.h"
#include "lib/testutil.h"

#define EXT4_MAGIC_NUMBER 0xEF53

struct fixture {
    char base[PATH_MAX]; /* the state directory */
    char dir[PATH_MAX + 16]; /* its ephemeral/ */
    struct pt_ephemeral *eph;
};

static int setup(void **state)
{
    if (geteuid() != 0)
        return 0; /* the tests skip */
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->base, sizeof(f->base), "/var/tmp/pt-ephemeral-XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->dir, sizeof(f->dir), "%s/ephemeral", f->base);
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_open(&f->eph, f->base, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    pt_ephemeral_free(f->eph);
    tu_rmtree(f->base);
    free(f);
    return 0;
}

/* Skips where /tmp cannot be a disk here (no loop devices: most containers), saying why. */
static void need_disk(struct fixture *f)
{
    if (!f)
        skip();
    if (pt_ephemeral_note(f->eph)) {
        print_message("%s\n", pt_ephemeral_note(f->eph));
        skip();
    }
}

/* Loop devices whose backing file lies in dir (an unnamed one shows as "dir/#123 (deleted)"). */
static int loops_backed_in(const char *dir)
{
    glob_t g;
    int n = 0;
    if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char line[PATH_MAX + 32];
        struct pt_error err = {0};
        if (pt_file_read_small(g.gl_pathv[i], line, sizeof(line), &err) == 0 &&
            strncmp(line, dir, strlen(dir)) == 0 && line[strlen(dir)] == '/')
            n++;
    }
    globfree(&g);
    return n;
}

static void test_template_made_once_per_size(void **state)
{
    struct fixture *f = *state;
    need_disk(f);
    char path[PATH_MAX + 32], again[PATH_MAX + 32];
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_template(f->eph, 512, path, sizeof(path), &err), 0);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s/ext4-512m-v3.img", f->dir);
    assert_string_equal(path, want);
    struct stat st, st2;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 512LL << 20);
    assert_true(st.st_blocks * 512 < 4LL << 20); /* sparse: metadata only */
    assert_int_equal(pt_ephemeral_template(f->eph, 512, again, sizeof(again), &err), 0);
    assert_string_equal(again, path);
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_ino == st.st_ino && st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
                st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
    /* Cut short (a disk that filled up, a hand that edited it): made again. */
    assert_int_equal(truncate(path, 4096), 0);
    assert_int_equal(pt_ephemeral_template(f->eph, 512, again, sizeof(again), &err), 0);
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_size == st.st_size && st2.st_ino != st.st_ino);
    /* Nothing else left behind: no temporary image, no mount point. */
    DIR *d = opendir(f->dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(entries, 1);
}

/* The state directory's ephemeral/ removed while the engine runs (a user reclaiming space, as
 * with logs/): the next template is made in a new one, not refused until a restart. */
static void test_template_made_again_after_dir_removed(void **state)
{
    struct fixture *f = *state;
    need_disk(f);
    char path[PATH_MAX + 32];
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_template(f->eph, 512, path, sizeof(path), &err), 0);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->base);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(pt_ephemeral_template(f->eph, 512, path, sizeof(path), &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode) && st.st_size > 512LL << 20);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
}

/* The pid of mkfs.ext4 when it is a child of pid, else 0. */
static pid_t mkfs_child_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    struct pt_error err = {0};
    if (pt_file_read_small(path, line, sizeof(line), &err) != 0)
        return 0;
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
        char comm_path[64], comm[64];
        snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", tok);
        if (pt_file_read_small(comm_path, comm, sizeof(comm), &err) == 0 &&
            strncmp(comm, "mkfs.ext4", 9) == 0)
            return (pid_t)atoi(tok);
    }
    return 0;
}

/* An engine killed (kill -9) while mkfs.ext4 makes a template leaves nothing in ephemeral/:
 * no half-made image, no mount point (each was left forever before). */
static void test_killed_while_making_a_template_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    need_disk(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char path[PATH_MAX + 32];
        struct pt_error err = {0};
        _exit(pt_ephemeral_template(f->eph, 10240, path, sizeof(path), &err) == 0 ? 0 : 1);
    }
    pid_t mkfs = 0;
    int status = 0;
    while ((mkfs = mkfs_child_of(pid)) == 0 && waitpid(pid, &status, WNOHANG) == 0)
        usleep(200);
    if (mkfs == 0)
        skip(); /* done before mkfs.ext4 could be seen */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%d", (int)mkfs);
    for (int i = 0; i < 10000 && access(proc, F_OK) == 0; i++)
        usleep(1000); /* the orphaned mkfs.ext4 finishes */
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        print_message("left: %s\n", e->d_name);
        entries++;
    }
    closedir(d);
    assert_int_equal(entries, 0);
    assert_int_equal(loops_backed_in(f->dir), 0);
}

static void test_sizes_outside_lambdas_refused(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    char path[PATH_MAX];
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_template(f->eph, 511, path, sizeof(path), &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "EphemeralStorage.Size 511: allowed 512..10240"));
    assert_int_equal(pt_ephemeral_template(f->eph, 10241, path, sizeof(path), &err), PT_EUSAGE);
}

/*
 * In a child with a mount namespace of its own: a copy of the template mounted at
 * base/tmp-<mb>, as a function would see it. Exit status: 0, or the check that failed.
 */
static int check_mounted_copy(struct fixture *f, int mb)
{
    char path[PATH_MAX], target[PATH_MAX + 32];
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_template(f->eph, mb, path, sizeof(path), &err), 0);
    snprintf(target, sizeof(target), "%s/tmp-%d", f->base, mb);
    assert_int_equal(mkdir(target, 0755), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            _exit(1);
        const char *why = pt_ephemeral_mount(path, target);
        if (why) {
            fprintf(stderr, "mount: %s\n", why);
            _exit(2);
        }
        struct statfs fs;
        if (statfs(target, &fs) != 0 || fs.f_type != EXT4_MAGIC_NUMBER)
            _exit(3);
        unsigned long long avail = (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize;
        unsigned long long want = (unsigned long long)mb << 20;
        fprintf(stderr, "%d MB: %llu bytes free (%llu KiB over)\n", mb, avail, (avail - want) >> 10);
        if (avail < want || avail > want + (1ULL << 20))
            _exit(4);
        /* Inodes as mke2fs gives a disk of this size (one per 16 KiB): many small files fit. */
        if ((unsigned long long)fs.f_ffree < want / 16384 - 16)
            _exit(8);
        struct stat st;
        if (stat(target, &st) != 0 || (st.st_mode & 07777) != 01777)
            _exit(5);
        DIR *d = opendir(target);
        int entries = 0;
        for (struct dirent *e; d && (e = readdir(d)) != NULL;)
            entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        if (!d || entries != 0)
            _exit(6);
        closedir(d);
        if (loops_backed_in(f->dir) != 1)
            _exit(7);
        _exit(0);
    }
    return tu_child_exit_status(pid);
}

static void test_mounted_copy_is_lambdas_tmp(void **state)
{
    struct fixture *f = *state;
    need_disk(f);
    static const int sizes[] = {512, 1000, 10240};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(check_mounted_copy(f, sizes[i]), 0);
        /* Gone with the namespace: the loop device detached itself (autoclear), and the
         * unnamed image went with it; the host never saw the mount. */
        assert_int_equal(loops_backed_in(f->dir), 0);
        char target[PATH_MAX + 32];
        snprintf(target, sizeof(target), "%s/tmp-%d", f->base, sizes[i]);
        struct stat mounted, parent;
        assert_int_equal(stat(target, &mounted), 0);
        assert_int_equal(stat(f->base, &parent), 0);
        assert_true(mounted.st_dev == parent.st_dev);
    }
}

/*
 * In a child: an ephemeral storage on state_dir chooses the tmpfs, its note says why (want) and
 * that /tmp's files count against MemorySize, and it makes no template. 0, or the failed check.
 */
static int falls_back_saying(const char *state_dir, const char *want)
{
    struct pt_ephemeral *e = NULL;
    struct pt_error err = {0};
    if (pt_ephemeral_open(&e, state_dir, &err) != 0)
        return 2;
    const char *note = pt_ephemeral_note(e);
    char path[PATH_MAX] = "x";
    int status = 0;
    if (!note || !strstr(note, want) || !strstr(note, "count against MemorySize"))
        status = 3;
    else if (pt_ephemeral_template(e, 512, path, sizeof(path), &err) != 0 || path[0] != '\0')
        status = 4;
    pt_ephemeral_free(e);
    return status;
}

/* A state directory on tmpfs would put the image back in memory: a tmpfs /tmp, and a note. */
static void test_state_dir_on_tmpfs_falls_back(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char mem[PATH_MAX + 16];
        snprintf(mem, sizeof(mem), "%s/mem", f->base);
        if (mkdir(mem, 0755) != 0 || unshare(CLONE_NEWNS) != 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mem, "tmpfs", 0, "size=1m") != 0)
            _exit(1);
        _exit(falls_back_saying(mem, "/tmp is a tmpfs (the state directory is on tmpfs"));
    }
    assert_int_equal(tu_child_exit_status(pid), 0);
}

/* A state directory where no unnamed file can be made (read-only here; overlayfs before 6.6):
 * the tmpfs, said why, not a cold start failing in the child. */
static void test_state_dir_without_tmpfile_falls_back(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount(f->base, f->base, NULL, MS_BIND, NULL) != 0 ||
            mount(NULL, f->base, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
            _exit(1);
        _exit(falls_back_saying(f->base, "cannot hold unnamed files (O_TMPFILE)"));
    }
    assert_int_equal(tu_child_exit_status(pid), 0);
}

/* A state directory with less room than one /tmp: said (the engine's notice), since writes past
 * the host's free space would be lost. Here: a 64 MB ext4 mounted in a namespace of our own. */
static void test_short_of_room_is_told(void **state)
{
    struct fixture *f = *state;
    need_disk(f);
    assert_int_equal(pt_ephemeral_short_of(f->eph, 512), 0); /* /var/tmp has room here */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char img[PATH_MAX + 16], small[PATH_MAX + 16], cmd[4 * PATH_MAX + 128];
        snprintf(img, sizeof(img), "%s/small.img", f->base);
        snprintf(small, sizeof(small), "%s/small", f->base);
        snprintf(cmd, sizeof(cmd),
                 "truncate -s 64M '%s' && mkfs.ext4 -q -F '%s' && mount -o loop '%s' '%s'", img,
                 img, img, small);
        if (mkdir(small, 0755) != 0 || unshare(CLONE_NEWNS) != 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 || system(cmd) != 0)
            _exit(1);
        struct pt_ephemeral *e = NULL;
        struct pt_error err = {0};
        int status = 0;
        if (pt_ephemeral_open(&e, small, &err) != 0 || pt_ephemeral_note(e))
            status = 2;
        unsigned long long free_mb = status ? 0 : pt_ephemeral_short_of(e, 512);
        if (!status && (free_mb == 0 || free_mb > 64))
            status = 3;
        pt_ephemeral_free(e);
        umount2(small, 0); /* the loop device detaches with it (mount -o loop: autoclear) */
        _exit(status);
    }
    assert_int_equal(tu_child_exit_status(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_template_made_once_per_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_made_again_after_dir_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_making_a_template_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sizes_outside_lambdas_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mounted_copy_is_lambdas_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_on_tmpfs_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_without_tmpfile_falls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_short_of_room_is_told, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
