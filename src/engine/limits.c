#include "engine/limits.h"

#include <sched.h>
#include <unistd.h>

void pt_cpu_share_for_memory(int memory_mb, int host_cpus, struct pt_cpu_share *out)
{
    double wanted = (double)memory_mb / PT_MB_PER_VCPU;
    double cap = host_cpus < PT_MAX_VCPUS ? host_cpus : PT_MAX_VCPUS;
    out->vcpus_wanted = wanted;
    out->capped_by_host = wanted > cap && host_cpus < PT_MAX_VCPUS;
    out->vcpus = wanted > cap ? cap : wanted;
    out->period_us = PT_CFS_PERIOD_US;
    unsigned long long q = (unsigned long long)(out->vcpus * (double)PT_CFS_PERIOD_US + 0.5);
    if (q < PT_CFS_MIN_QUOTA_US)
        q = PT_CFS_MIN_QUOTA_US;
    out->quota_us = out->vcpus >= host_cpus ? 0 : q;
}

unsigned long long pt_cpu_boost_quota_us(const struct pt_cpu_share *share, int host_cpus)
{
    if (!share->quota_us || host_cpus <= PT_INIT_BOOST_VCPUS)
        return 0;
    unsigned long long q = PT_INIT_BOOST_VCPUS * share->period_us;
    return q > share->quota_us ? q : share->quota_us;
}

int pt_vcpu_count_for_memory(int memory_mb)
{
    int n = (memory_mb + PT_MB_PER_VCPU - 1) / PT_MB_PER_VCPU;
    if (n < 1)
        n = 1;
    return n > PT_MAX_VCPUS ? PT_MAX_VCPUS : n;
}

int pt_host_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
