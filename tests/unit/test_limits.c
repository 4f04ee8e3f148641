/*
 * test_limits.c - Lambda's memory -> CPU arithmetic (engine/limits.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "engine/limits.h"

static void test_128mb_is_1447_of_20000(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(128, 2, &s);
    assert_int_equal(s.quota_us, 1447);
    assert_int_equal(s.period_us, 20000);
    assert_false(s.capped_by_host);
    /* Above the kernel's 1 ms minimum, so no clamping happened. */
    assert_true(s.quota_us >= PT_CFS_MIN_QUOTA_US);
}

static void test_1769mb_is_one_cpu(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(1769, 2, &s);
    assert_int_equal(s.quota_us, 20000);
    assert_int_equal(s.period_us, 20000);
    assert_false(s.capped_by_host);
}

/* Two vCPUs on two cores: the whole host, so no quota (limits.h: such a quota throttles). */
static void test_3538mb_on_2_cores_is_the_whole_host(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(3538, 2, &s);
    assert_true(s.vcpus > 1.999 && s.vcpus < 2.001);
    assert_int_equal(s.quota_us, 0);
    assert_false(s.capped_by_host);
    pt_cpu_share_for_memory(3538, 3, &s);
    assert_int_equal(s.quota_us, 40000);
}

static void test_10240mb_on_2_cores_is_capped(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(10240, 2, &s);
    assert_true(s.capped_by_host);
    assert_true(s.vcpus > 1.999 && s.vcpus < 2.001);
    assert_int_equal(s.quota_us, 0);
    assert_true(s.vcpus_wanted > 5.7 && s.vcpus_wanted < 5.8);
}

static void test_1769mb_on_1_core_is_the_whole_host(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(1769, 1, &s);
    assert_int_equal(s.quota_us, 0);
    pt_cpu_share_for_memory(1000, 1, &s);
    assert_int_equal(s.quota_us, 11306);
}

/* INIT runs at 2 vCPUs: a quota on bigger hosts, none where 2 vCPUs are the whole host. */
static void test_boost_quota(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(128, 8, &s);
    assert_int_equal(pt_cpu_boost_quota_us(&s, 8), 40000);
    pt_cpu_share_for_memory(10240, 8, &s);
    assert_int_equal(pt_cpu_boost_quota_us(&s, 8), 115772); /* the share is more than the boost */
    pt_cpu_share_for_memory(128, 2, &s);
    assert_int_equal(pt_cpu_boost_quota_us(&s, 2), 0);
    pt_cpu_share_for_memory(128, 1, &s);
    assert_int_equal(pt_cpu_boost_quota_us(&s, 1), 0);
    pt_cpu_share_for_memory(128, 3, &s);
    assert_int_equal(pt_cpu_boost_quota_us(&s, 3), 40000);
}

/*
 * 10240 MB gives 6 cores on Lambda, but the CPU share stays linear:
 * 10240/1769 = 5.79 vCPUs (lambda-wire.md §5: "CPU share linear, ~N/1769").
 */
static void test_10240mb_on_8_cores_is_linear_share(void **state)
{
    (void)state;
    struct pt_cpu_share s;
    pt_cpu_share_for_memory(10240, 8, &s);
    assert_false(s.capped_by_host);
    assert_int_equal(s.quota_us, 115772);
    assert_int_equal(pt_vcpu_count_for_memory(10240), 6);
}

static void test_vcpu_counts(void **state)
{
    (void)state;
    assert_int_equal(pt_vcpu_count_for_memory(128), 1);
    assert_int_equal(pt_vcpu_count_for_memory(1769), 1);
    assert_int_equal(pt_vcpu_count_for_memory(1770), 2);
    assert_int_equal(pt_vcpu_count_for_memory(3538), 2);
    assert_int_equal(pt_vcpu_count_for_memory(3539), 3);
    assert_int_equal(pt_vcpu_count_for_memory(10240), 6);
}

static void test_host_cpus_positive(void **state)
{
    (void)state;
    assert_true(pt_host_cpus() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_128mb_is_1447_of_20000),
        cmocka_unit_test(test_1769mb_is_one_cpu),
        cmocka_unit_test(test_3538mb_on_2_cores_is_the_whole_host),
        cmocka_unit_test(test_10240mb_on_2_cores_is_capped),
        cmocka_unit_test(test_1769mb_on_1_core_is_the_whole_host),
        cmocka_unit_test(test_boost_quota),
        cmocka_unit_test(test_10240mb_on_8_cores_is_linear_share),
        cmocka_unit_test(test_vcpu_counts),
        cmocka_unit_test(test_host_cpus_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
