/*
 * limits.h - Lambda's resource model as numbers, and the arithmetic that
 * turns a memory size into a CPU share.
 *
 * Lambda gives a function CPU in proportion to its memory: 1,769 MB is one
 * vCPU, 10,240 MB is six. powertune emulates that with a CFS quota of
 * memory/1769 of a CPU per period, capped at the host's cores (a 2-core
 * machine cannot emulate 3 vCPUs; the cap is reported, never hidden).
 *
 * The CFS period is 20 ms, not the kernel's default 100 ms: at 128 MB the
 * quota is 7.2 % of a CPU, and with a 100 ms period a function that needs
 * 5 ms of CPU would finish inside the first period's quota unthrottled; with
 * 20 ms the quota (1.45 ms, above the kernel's 1 ms minimum) spreads the
 * work the way a proportional share does.
 * Not shorter: bandwidth is charged at scheduler ticks (4 ms at HZ=250), so a
 * period below the tick overcharges. Measured with a 2 ms period (1 ms /
 * share where larger): cpu-c's 150 ms of CPU took 240 ms at 1769 MB and
 * 320 ms at 1024 MB (1.56x and 1.20x the proportional share; 20 ms: 1.01x
 * and 0.99x). The price of 20 ms: a function needing only a few ms of CPU
 * either fits in one period's quota or waits for the next period, so at
 * 512 MB a 6 ms-CPU invocation takes 6 or 21 ms (bimodal), which is why
 * tuning such short functions needs more samples.
 *
 * A share (or INIT boost) that covers every host CPU gets no quota at all
 * (quota_us 0): it could not use more anyway, and the kernel throttles a
 * group whose quota equals the host's capacity now and then (per-CPU slices
 * of the quota run dry while another CPU holds the rest). Measured here (2
 * CPUs, 20 ms period): two spinning threads under 40 ms/20 ms were throttled
 * in 7 and 11 of 100 periods; Node.js's INIT (several threads) under the
 * 2-vCPU boost in 5 of 10 cold starts, each stall lasting to the period's end.
 */
#ifndef PT_ENGINE_LIMITS_H
#define PT_ENGINE_LIMITS_H

#include <stdbool.h>

#define PT_MEMORY_MIN_MB 128
#define PT_MEMORY_MAX_MB 10240
#define PT_MEMORY_DEFAULT_MB 128
#define PT_MB_PER_VCPU 1769
#define PT_MAX_VCPUS 6
#define PT_TIMEOUT_MIN_S 1
#define PT_TIMEOUT_MAX_S 900
#define PT_TIMEOUT_DEFAULT_S 3
#define PT_EPHEMERAL_MIN_MB 512
#define PT_EPHEMERAL_MAX_MB 10240
#define PT_EPHEMERAL_DEFAULT_MB 512
#define PT_ENV_VARS_MAX_BYTES 4096
#define PT_PIDS_MAX 1024
#define PT_NOFILE_MAX 1024
#define PT_INIT_TIMEOUT_MS 10000
#define PT_INIT_BOOST_VCPUS 2
#define PT_CFS_PERIOD_US 20000ULL
#define PT_CFS_MIN_QUOTA_US 1000ULL
/* Sync payload limits (bytes): request 6 MiB, response 6 MiB + 100 (RIE MaxPayloadSize). */
#define PT_INVOKE_REQUEST_MAX 6291456
#define PT_INVOKE_RESPONSE_MAX 6291556
#define PT_ACCOUNT_CONCURRENCY_DEFAULT 1000
#define PT_LOG_TAIL_BYTES 4096

struct pt_cpu_share {
    double vcpus_wanted;   /* memory / 1769 */
    double vcpus;          /* after the caps */
    bool capped_by_host;   /* true when the host's cores limited it */
    unsigned long long quota_us;  /* 0 = no quota: the share covers every host CPU */
    unsigned long long period_us;
};

/* The CPU share Lambda would give memory_mb, on a host with host_cpus cores. */
void pt_cpu_share_for_memory(int memory_mb, int host_cpus, struct pt_cpu_share *out);
/*
 * The CFS quota INIT runs under: PT_INIT_BOOST_VCPUS (or the share, when
 * larger), 0 (no quota) when that covers every host CPU.
 */
unsigned long long pt_cpu_boost_quota_us(const struct pt_cpu_share *share, int host_cpus);
/* Number of vCPUs (cores) Lambda exposes at memory_mb: ceil(memory/1769), 1..6. */
int pt_vcpu_count_for_memory(int memory_mb);
/* Online CPUs of this host (sched_getaffinity), at least 1. */
int pt_host_cpus(void);

#endif
