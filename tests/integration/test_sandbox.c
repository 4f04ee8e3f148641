/*
 * test_sandbox.c - the mount namespace made ahead (pt_sandbox_spare_*): what a process that
 * enters it sees, when a spare is taken and when it is dropped, and that the helper leaves no
 * descriptor behind but the namespace's. The spare's thread builds it; the tests wait for it
 * (pt_sandbox_spare_settle). Root only; skipped in the sanitizer build, which
 * makes no spares (sandbox.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "engine/ephemeral.h"
#include "lib/testutil.h"
#include "engine/sandbox.h"

#define TMPFS_MAGIC_NUMBER 0x01021994
#define EXT4_MAGIC_NUMBER 0xEF53

struct fixture {
    struct pt_sandbox_spare *spare;
    char base[PATH_MAX]; /* holds code/ */
    char code[PATH_MAX + 8];
    struct pt_sandbox_spec spec; /* code/, no runtime directory, an 8 MB tmpfs /tmp */
    struct pt_ephemeral *eph;    /* with setup_disk: base is its state directory */
    char image[PATH_MAX + 32];   /* and spec's /tmp a 512 MB disk */
    unsigned long long tmp_bytes;
    char home[PATH_MAX]; /* with setup_private_home: a 0700 directory above base */
};

static int setup_in(void **state, const char *parent)
{
    if (geteuid() != 0)
        return 0; /* the tests skip */
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->base, sizeof(f->base), "%s/pt-sandbox-XXXXXX", parent);
    assert_non_null(mkdtemp(f->base));
    assert_int_equal(chmod(f->base, 0755), 0); /* the unprivileged user looks into code/ */
    snprintf(f->code, sizeof(f->code), "%s/code", f->base);
    assert_int_equal(mkdir(f->code, 0755), 0);
    f->spec = (struct pt_sandbox_spec){.code_dir = f->code, .runtime_dir = "",
                                       .tmp_opts = "size=8m,mode=1777"};
    f->tmp_bytes = 8ULL << 20;
    struct pt_error err = {0};
    assert_int_equal(pt_sandbox_spare_new(&f->spare, &err), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_in(state, "/var/tmp");
}

/* A code directory under /tmp: the helper keeps it visible under the private /tmp. */
static int setup_under_tmp(void **state)
{
    return setup_in(state, "/tmp");
}

/* A code directory in a home others cannot search (/root is 0700): the namespace covers the
 * home with a tmpfs holding only the way to the code. */
static int setup_private_home(void **state)
{
    if (geteuid() != 0)
        return 0;
    char home[] = "/var/tmp/pt-home-XXXXXX";
    assert_non_null(mkdtemp(home)); /* 0700 */
    char secret[PATH_MAX];
    snprintf(secret, sizeof(secret), "%s/secret", home);
    assert_int_equal(pt_file_write_str(secret, "root's", NULL), 0);
    setup_in(state, home);
    struct fixture *f = *state;
    snprintf(f->home, sizeof(f->home), "%s", home);
    return 0;
}

/* The disk-backed /tmp (ephemeral.h), where this machine has loop devices. */
static int setup_disk(void **state)
{
    setup_in(state, "/var/tmp");
    struct fixture *f = *state;
    if (!f)
        return 0;
    struct pt_error err = {0};
    assert_int_equal(pt_ephemeral_open(&f->eph, f->base, &err), 0);
    assert_int_equal(pt_ephemeral_template(f->eph, 512, f->image, sizeof(f->image), &err), 0);
    if (pt_ephemeral_note(f->eph)) {
        print_message("%s\n", pt_ephemeral_note(f->eph)); /* the tmpfs case again */
        return 0;
    }
    f->spec.tmp_image = f->image;
    f->tmp_bytes = 512ULL << 20;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    pt_sandbox_spare_free(f->spare);
    pt_ephemeral_free(f->eph);
    tu_rmtree(f->home[0] ? f->home : f->base);
    free(f);
    return 0;
}

static int open_descriptors(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the listing's own */
}

/* Asks for a spare and waits until the spare's thread has built it. */
static void prepare_spare(struct fixture *f)
{
    struct pt_error err = {0};
    if (pt_sandbox_spare_prepare(f->spare, &f->spec, &err) != 0)
        fail_msg("prepare: %s", err.msg);
    pt_sandbox_spare_settle(f->spare);
}

static bool skip_here(void)
{
#ifdef __SANITIZE_ADDRESS__
    return true;
#else
    return geteuid() != 0;
#endif
}

/*
 * In a child: enters ns_fd and checks Lambda's view. Exit status: 0 fine, else the number of
 * the check that failed. A disk /tmp (ext4) may show up to 1 MiB more free than asked for.
 */
static int check_namespace(int ns_fd, const struct fixture *f)
{
    const char *code = f->code;
    bool disk = f->image[0] != '\0';
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pt_sandbox sb = {.enabled = true, .uid = 65534, .gid = 65534};
        struct pt_sandbox_spec none = {0};
        if (pt_sandbox_enter(&sb, &none, ns_fd) != NULL)
            _exit(1);
        struct statfs fs;
        struct stat st;
        if (statfs("/tmp", &fs) != 0)
            _exit(2);
        unsigned long long avail = (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize;
        if (fs.f_type != (disk ? EXT4_MAGIC_NUMBER : TMPFS_MAGIC_NUMBER) || avail < f->tmp_bytes ||
            avail > f->tmp_bytes + (disk ? 1ULL << 20 : 0))
            _exit(2);
        if (stat("/tmp", &st) != 0 || (st.st_mode & 07777) != 01777)
            _exit(7);
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/written", code);
        if (open(path, O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
            _exit(3);
        if (stat("/dev/shm", &st) == 0 || stat("/dev/null", &st) != 0 || stat(code, &st) != 0)
            _exit(4);
        if (getuid() != 65534)
            _exit(5);
        /* nothing from the host's /tmp */
        DIR *d = opendir("/tmp");
        int entries = 0;
        for (struct dirent *e; d && (e = readdir(d)) != NULL;)
            entries += e->d_name[0] != '.';
        if (!d || entries > 1) /* the kept code directory's first component, if under /tmp */
            _exit(6);
        _exit(0);
    }
    return tu_child_exit_status(pid);
}

/* Whether the byte of uid's slot is locked by an open file description other than fd's. */
static bool user_held_against(int fd, unsigned uid)
{
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = uid - PT_SANDBOX_UID_FIRST, .l_len = 1};
    assert_int_equal(fcntl(fd, F_OFD_GETLK, &lk), 0);
    return lk.l_type != F_UNLCK;
}

/*
 * The environments' uids are taken host-wide: the uids whose bytes another open file
 * description holds (another engine's environments; here the test's own) are skipped, one
 * taken is held against every other, and given back it is free again.
 */
static void test_users_taken_host_wide(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct pt_error err = {0};
    struct pt_sandbox_user a, b;
    assert_int_equal(pt_sandbox_user_take(&a, &err), 0);
    int other = open(PT_SANDBOX_USER_LOCKS, O_RDWR | O_CLOEXEC);
    assert_true(other >= 0);
    assert_true(user_held_against(other, a.uid));
    /* The next three slots, held as another engine would (or held by one already). */
    unsigned first = a.uid - PT_SANDBOX_UID_FIRST + 1;
    for (unsigned i = 0; i < 3; i++) {
        struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = first + i,
                           .l_len = 1};
        (void)fcntl(other, F_OFD_SETLK, &lk);
    }
    assert_int_equal(pt_sandbox_user_take(&b, &err), 0);
    print_message("uids %u then %u, %u-%u held elsewhere\n", a.uid, b.uid,
                  PT_SANDBOX_UID_FIRST + first, PT_SANDBOX_UID_FIRST + first + 2);
    assert_true(b.uid != a.uid);
    assert_true(b.uid < PT_SANDBOX_UID_FIRST + first || b.uid > PT_SANDBOX_UID_FIRST + first + 2);
    assert_true(user_held_against(other, b.uid));
    pt_sandbox_user_release(&b);
    assert_int_equal(b.lock_fd, -1);
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = b.uid - PT_SANDBOX_UID_FIRST, .l_len = 1};
    assert_int_equal(fcntl(other, F_OFD_SETLK, &lk), 0); /* free again */
    close(other);
    pt_sandbox_user_release(&a);
}

static void test_spare_taken_for_the_same_spec(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    int before = open_descriptors();
    prepare_spare(f);
    assert_int_equal(open_descriptors(), before + 2); /* the stock's namespaces, nothing else */
    prepare_spare(f); /* the stock is full: no-op */
    assert_int_equal(open_descriptors(), before + 2);
    int fd = pt_sandbox_spare_take(f->spare, &f->spec);
    int fd2 = pt_sandbox_spare_take(f->spare, &f->spec);
    assert_true(fd >= 0 && fd2 >= 0 && fd2 != fd);
    assert_int_equal(check_namespace(fd, f), 0);
    assert_int_equal(check_namespace(fd2, f), 0);
    close(fd);
    close(fd2);
    assert_int_equal(pt_sandbox_spare_taken(f->spare), 2);
    pt_sandbox_spare_settle(f->spare);
    assert_int_equal(open_descriptors(), before); /* not refilled by the takes themselves */
    prepare_spare(f);                            /* but when asked: after the next exec */
    assert_int_equal(open_descriptors(), before + 2);
}

/* The unprivileged user reaches code under a 0700 home, and sees nothing else of it. */
static void test_code_in_a_private_home(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    prepare_spare(f);
    int fd = pt_sandbox_spare_take(f->spare, &f->spec);
    assert_true(fd >= 0);
    assert_int_equal(check_namespace(fd, f), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pt_sandbox sb = {.enabled = true, .uid = 65534, .gid = 65534};
        struct pt_sandbox_spec none = {0};
        if (pt_sandbox_enter(&sb, &none, fd) != NULL)
            _exit(1);
        DIR *d = opendir(f->home);
        int entries = 0;
        for (struct dirent *e; d && (e = readdir(d)) != NULL;)
            entries += e->d_name[0] != '.' && strcmp(e->d_name, "secret") != 0;
        char secret[PATH_MAX + 8];
        snprintf(secret, sizeof(secret), "%s/secret", f->home);
        struct stat st;
        _exit(!d ? 2 : entries != 1 ? 3 : stat(secret, &st) == 0 ? 4 : 0);
    }
    assert_int_equal(tu_child_exit_status(pid), 0);
    close(fd);
}

static void test_spare_for_another_spec_is_dropped(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    struct pt_sandbox_spec bigger = f->spec;
    bigger.tmp_opts = "size=16m,mode=1777";
    int before = open_descriptors();
    prepare_spare(f);
    assert_int_equal(pt_sandbox_spare_take(f->spare, &bigger), -1);
    assert_int_equal(open_descriptors(), before); /* dropped, not kept for later */
    assert_int_equal(pt_sandbox_spare_take(f->spare, &f->spec), -1);
    assert_int_equal(pt_sandbox_spare_taken(f->spare), 0);
}

/* A disk /tmp's namespace is not a tmpfs one's (or another size's), and the other way round. */
static void test_spare_for_another_tmp_is_dropped(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    struct pt_sandbox_spec other = f->spec;
    other.tmp_image = f->image[0] ? NULL : "/var/tmp/another-template.img";
    prepare_spare(f);
    assert_int_equal(pt_sandbox_spare_take(f->spare, &other), -1);
    assert_int_equal(pt_sandbox_spare_taken(f->spare), 0);
}

/* A removed function's stock goes with it; another function's stays. */
static void test_spare_forgotten_with_its_function(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    int before = open_descriptors();
    prepare_spare(f);
    pt_sandbox_spare_forget(f->spare, "/var/tmp/another-function");
    assert_int_equal(open_descriptors(), before + 2);
    pt_sandbox_spare_forget(f->spare, f->code);
    assert_int_equal(open_descriptors(), before);
    pt_sandbox_spare_settle(f->spare); /* and not refilled */
    assert_int_equal(open_descriptors(), before);
    assert_int_equal(pt_sandbox_spare_take(f->spare, &f->spec), -1);
}

static void test_spare_dropped_when_the_code_directory_was_replaced(void **state)
{
    if (skip_here())
        skip();
    struct fixture *f = *state;
    prepare_spare(f);
    char old[sizeof(f->code) + 8];
    snprintf(old, sizeof(old), "%s.old", f->code);
    assert_int_equal(rename(f->code, old), 0);
    assert_int_equal(mkdir(f->code, 0755), 0); /* new code, same path */
    assert_int_equal(pt_sandbox_spare_take(f->spare, &f->spec), -1);
}

/* pt_sandbox_can_seal in a child under a seccomp filter refusing mount_setattr with EPERM, as a
 * container's may: the child's exit status is 1 when the probe says no. */
static int seal_probe_filtered(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (tu_refuse_mount_setattr() != 0)
            _exit(3);
        _exit(pt_sandbox_can_seal() ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Where mount_setattr is refused, the engine says the host's mounts stay writable (and the
 * sandbox runs without sealing them) rather than failing every invocation (h5's finding). */
static void test_seal_probe(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    assert_true(pt_sandbox_can_seal()); /* root on Linux >= 5.12, no filter */
    assert_int_equal(seal_probe_filtered(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_probe),
        cmocka_unit_test(test_users_taken_host_wide),
        cmocka_unit_test_setup_teardown(test_spare_taken_for_the_same_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_taken_for_the_same_spec, setup_under_tmp, teardown),
        cmocka_unit_test_setup_teardown(test_spare_taken_for_the_same_spec, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(test_code_in_a_private_home, setup_private_home, teardown),
        cmocka_unit_test_setup_teardown(test_spare_for_another_spec_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_for_another_tmp_is_dropped, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(test_spare_forgotten_with_its_function, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(test_spare_dropped_when_the_code_directory_was_replaced,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
