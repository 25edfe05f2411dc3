/* gatelab's single-pass float32 CPU kernels (see cpu_native.py for how they are built and used).
 *
 * One loop per activation and pass: load x (and dy), compute in float32, store once. The loops
 * are plain C that the compiler vectorises (`omp simd`: every branch is a select, every helper
 * is inlined) and OpenMP splits across threads. Accuracy comes from error-free transformations
 * with fmaf (Dekker/Knuth two-product and two-sum; Ogita, Rump & Oishi, SIAM J. Sci. Comput.
 * 26(6), 2005): every gate argument is carried as an unevaluated sum hi + lo, so that e^{−v} for
 * |v| up to ~100 is not ruined by the rounding of v, and e^{−v} itself comes back as a
 * double-float mantissa times powers of two. Only GELU's rational G is evaluated in double (its
 * float32 Horner scheme alone cost 5 ulp). Compile with -ffp-contract=off: a contracted
 * a*b - c would destroy the two-product error terms.
 *
 * Formulas:
 *   gelu        x·Φ(x) with Φ(−a) = e^{−a²/2}·G(a), G a rational minimax fit of degree 5/6,
 *               relative error 8.4e-11 on [0, 14.6] (tools/fit_gauss_mills.py);
 *               f' = Φ(x) + x·φ(x)  (Hendrycks & Gimpel, arXiv:1606.08415).
 *   logistic    x·σ(v(x)): silu v = βx (Elfwing et al., arXiv:1702.03118), gelu_sigmoid
 *               v = 1.702x and gelu_tanh v = 2√(2/π)(x + 0.044715x³), since
 *               ½(1 + tanh u) = σ(2u) (Hendrycks & Gimpel);  f' = σ + x·v'·σ(1 − σ).
 *   gem family  a·s/(1 + s), s = (a/c)^{2N}, a = max(x, 0) (gem, e_gem) or |x| with −α times
 *               it for x < 0 (se_gem), c = ε^{1/2N} (Krause 2026, arXiv:2604.21677, as
 *               reconstructed in gatelab.catalog.gem);  f' = q + 2N·q·(1 − q), q = s/(1 + s).
 *
 * Measured worst errors against the float64 path on 3.6 million points (tests bound them):
 * forward ≤ 0.6 ulp (gem, e_gem), 1.0 (gelu), 1.13 (logistic), 1.4 (se_gem); backward ≤ 1.9
 * ulp (GEM) and, for the others, ≤ 2 ulp plus 4·2^-24·(|F| + |x·F′|) where f' = F + x·F′
 * cancels.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define INLINE static inline __attribute__((always_inline))
#define PARALLEL_MIN 32768 /* elements below which one thread does the loop */

#if defined(_OPENMP)
/* One thread below PARALLEL_MIN through num_threads, not an if() clause: gcc 12 compiles the
 * if(false) branch as a separate serial loop that it does not vectorise (12× slower, measured). */
#define LOOP _Pragma("omp parallel for simd schedule(static) num_threads(n >= PARALLEL_MIN ? threads : 1)")
#else
#define LOOP _Pragma("GCC ivdep")
#endif

INLINE float bits_to_float(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

/* min and max as selects (x86 minps/maxps): fminf/fmaxf's NaN rules would block vectorising. */
INLINE float min_f(float a, float b) { return a < b ? a : b; }
INLINE float max_f(float a, float b) { return a > b ? a : b; }

/* ---- e^{−(y + y_lo)} for 0 ≤ y, as a mantissa m ∈ [0.7, 1.5] and two powers of two ---------
 * Cody–Waite reduction y + y_lo = n·ln2 − r with |r| ≲ ln2/2 (n·ln2 removed with two fmaf; y_lo
 * folded into r), then e^r = (1 + r) + r²·Q(r) with 1 + r split exactly, Q the Taylor series to
 * r^7 (truncation 5e-9 relative), summed as the double-float m + m_lo (error ~0.1 ulp). 2^{−n}
 * is returned as two factors, so that results down to the subnormals are rounded once, by the
 * caller's last multiplication. */
typedef struct {
    float m, m_lo, s1, s2; /* e^{−(y + y_lo)} = (m + m_lo)·s1·s2, m + m_lo to ~2^-30 */
} scaled_t;

INLINE scaled_t exp_neg(float y, float y_lo) {
    const float LOG2E = 0x1.715476p+0f;
    const float LN2_HI = 0x1.62e400p-1f; /* 15 bits: n·LN2_HI is exact for n < 2^9 */
    const float LN2_LO = 0x1.7f7d1cp-20f;
    const float SHIFTER = 0x1.8p23f; /* adding it rounds to an integer */
    int beyond = y > 170.0f; /* two normal factors reach 2^-252; e^{−170}·3.4e38 < 1e-35 */
    y = beyond ? 170.0f : y;
    float n = (y * LOG2E + SHIFTER) - SHIFTER;
    float r = fmaf(n, LN2_HI, -y); /* exact */
    r = fmaf(n, LN2_LO, r) - y_lo; /* −(y + y_lo) + n·ln2 */
    float q = 1.98412698e-4f;      /* 1/7! */
    q = fmaf(q, r, 1.38888889e-3f);
    q = fmaf(q, r, 8.33333333e-3f);
    q = fmaf(q, r, 4.16666667e-2f);
    q = fmaf(q, r, 1.66666667e-1f);
    q = fmaf(q, r, 0.5f);
    float one_r = 1.0f + r, one_r_lo = (1.0f - one_r) + r;
    float tail = fmaf(r * r, q, one_r_lo);
    float m = one_r + tail, m_lo = (one_r - m) + tail; /* |one_r| ≥ |tail|: exact */
    m = beyond ? 0.0f : m; /* e^{−y} = 0 beyond 170: off by < |c|·e^{−170} for a factor c */
    m_lo = beyond ? 0.0f : m_lo;
    int32_t k = (int32_t)n;
    int32_t k1 = k - (k >> 1), k2 = k >> 1; /* k1 ≥ 1 whenever k ≥ 1 */
    scaled_t out = {m, m_lo, bits_to_float((127 - k1) << 23), bits_to_float((127 - k2) << 23)};
    return out;
}

/* ---- logistic gates ----------------------------------------------------------------------- */

/* σ(v) and 1 − σ(v) for v = hi + lo (|hi| ≤ 200): with e = e^{−|v|} ∈ (0, 1] (kept as
 * mantissa and scale, so that products with e are rounded before any underflow) and
 * r + r_lo = 1/(1 + e) to ~2^-44 (one Newton step against the exact 1 + e = d + d_lo, its
 * correction kept apart), σ(|v|) = r and σ(−|v|) = e·r. */
typedef struct {
    scaled_t e;
    float value, r, r_lo;
} logistic_t;

INLINE logistic_t logistic(float hi, float lo) {
    int neg = hi < 0.0f;
    float a = fabsf(hi), a_lo = neg ? -lo : lo;
    scaled_t e = exp_neg(a, a_lo);
    float value = e.m * e.s1 * e.s2;
    float d = 1.0f + value;
    float d_lo = ((1.0f - d) + value) + e.m_lo * e.s1 * e.s2;
    float r0 = 1.0f / d;
    float residual = fmaf(-r0, d, 1.0f) - r0 * d_lo;
    logistic_t out = {e, value, r0, r0 * residual};
    return out;
}

/* x·σ(v): for v ≥ 0, x·r; for v < 0, (x·e)·r with x·m exact as a two-product and the powers of
 * two of e applied last. NaN for x = −inf: callers handle it. */
INLINE float logistic_gated(float x, float v_hi, float v_lo) {
    logistic_t g = logistic(v_hi, v_lo);
    if (v_hi < 0.0f) {
        /* x·s1 is exact unless the result is subnormal anyway; with m ≤ 1 when s1 = 1 it
         * cannot overflow */
        float xs = x * g.e.s1;
        float num = xs * g.e.m, num_lo = fmaf(xs, g.e.m, -num) + xs * g.e.m_lo;
        return fmaf(num, g.r, fmaf(num, g.r_lo, num_lo * g.r)) * g.e.s2;
    }
    return fmaf(x, g.r, isinf(x) ? 0.0f : x * g.r_lo); /* ∞·r_lo would be ∞·0 = NaN */
}

/* f' = σ + x·v'·σ(1 − σ) = σ + x·v'·e·r². */
INLINE float logistic_gated_slope(float x, float v_hi, float v_lo, float dv) {
    logistic_t g = logistic(v_hi, v_lo);
    float r = g.r + g.r_lo;
    float sigma = v_hi < 0.0f ? (g.e.m * r) * g.e.s1 * g.e.s2 : r;
    float xc = fabsf(x) < 1e30f ? x : 0.0f; /* e·r² is 0 there: keeps ∞·0 out */
    float term = (((xc * dv) * g.e.m) * (r * r)) * g.e.s1 * g.e.s2;
    return sigma + term;
}

/* v = β·x as hi + lo, |hi| ≤ 200 (beyond, σ is 0 or 1 in float32). */
INLINE void scaled_argument(float x, float b_hi, float b_lo, float *hi, float *lo) {
    const float CUT = 200.0f;
    float h = b_hi * x;
    float l = fmaf(b_hi, x, -h) + b_lo * x;
    int inside = fabsf(h) < CUT;
    *hi = inside ? h : (x != x ? x : copysignf(CUT, x));
    *lo = inside ? l : 0.0f;
}

/* v = K·x·(1 + C·x²) as hi + lo, K = 2√(2/π), C = 0.044715; |x| clamped at 12 where σ(v) is 0
 * or 1 in float32. */
INLINE void tanh_argument(float x, float *hi, float *lo) {
    const float K_HI = 0x1.988454p+0f, K_LO = -0x1.857936p-25f; /* 2√(2/π) */
    const float C_HI = 0x1.6e4e26p-5f, C_LO = 0x1.a9003ep-30f;  /* 0.044715 */
    float xc = min_f(max_f(x, -12.0f), 12.0f);
    float w = xc * xc, w_lo = fmaf(xc, xc, -w);
    float cw = C_HI * w, cw_lo = fmaf(C_HI, w, -cw) + (C_LO * w + C_HI * w_lo);
    float m = 1.0f + cw, m_lo = ((1.0f - m) + cw) + cw_lo; /* cw ≤ 6.5: 1 ≥ cw not guaranteed */
    m_lo = cw > 1.0f ? ((cw - m) + 1.0f) + cw_lo : m_lo;
    float kx = K_HI * xc, kx_lo = fmaf(K_HI, xc, -kx) + K_LO * xc;
    float v = kx * m;
    *lo = fmaf(kx, m, -v) + (kx * m_lo + kx_lo * m);
    *hi = x != x ? x : v;
}

INLINE float tanh_argument_slope(float x) {
    const float K_HI = 0x1.988454p+0f, K_LO = -0x1.857936p-25f, C3 = 3.0f * 0x1.6e4e26p-5f;
    float xc = min_f(max_f(x, -12.0f), 12.0f);
    float w = fmaf(C3, xc * xc, 1.0f);
    return fmaf(K_HI, w, K_LO * w); /* v'(x) = K(1 + 3Cx²) */
}

/* ---- GELU --------------------------------------------------------------------------------- */

/* G(a) = Φ(−a)·e^{a²/2}, relative error 8.4e-11 on [0, 14.6], evaluated in double: the
 * float32 Horner scheme alone would cost up to 5 ulp (measured). */
INLINE double gauss_mills(float a_float) {
    double a = a_float;
    double p = 0x1.d225344830b0dp-11;
    p = fma(p, a, 0x1.7d640114f5340p-7);
    p = fma(p, a, 0x1.240122c69fff2p-4);
    p = fma(p, a, 0x1.008a6b10e3a0fp-2);
    p = fma(p, a, 0x1.03d559a46270ep-1);
    p = fma(p, a, 0x1.ffffffff485b3p-2);
    double q = 0x1.241d16c945e50p-9;
    q = fma(q, a, 0x1.ddffcd5797a71p-6);
    q = fma(q, a, 0x1.728c8b158d727p-3);
    q = fma(q, a, 0x1.5069a9068d2c4p-1);
    q = fma(q, a, 0x1.728fe59b39610p+0);
    q = fma(q, a, 0x1.d0178320a15f9p+0);
    q = fma(q, a, 1.0);
    /* p/q without a double division (vdivpd costs ~4× vdivps): a float32 reciprocal, then one
     * Newton step in double, error ~2^-46 */
    double r = (double)(1.0f / (float)q);
    r = r * fma(-q, r, 2.0);
    return p * r;
}

/* e^{−a²/2}·c for a ≤ 14.6 and a double c of moderate size: a²/2 = h + h_lo exactly, c times
 * the mantissa rounded once to float32, then the powers of two. */
INLINE float gauss_scaled(float a, double c) {
    float half_a = 0.5f * a;
    float h = half_a * a, h_lo = fmaf(half_a, a, -h);
    scaled_t e = exp_neg(h, h_lo);
    return (float)(c * ((double)e.m + (double)e.m_lo)) * e.s1 * e.s2;
}

INLINE float gelu_value(float x) {
    float a = min_f(fabsf(x), 14.6f);
    float xc = min_f(max_f(x, -14.6f), 14.6f);
    float tail = gauss_scaled(a, (double)xc * gauss_mills(a)); /* x·Φ(−|x|) */
    float y = x < 0.0f ? tail : x - tail;
    y = x > 14.6f ? x : y; /* Φ = 1: also keeps inf − inf out */
    return x != x ? x : y;
}

INLINE float gelu_slope(float x) {
    const double INV_SQRT_2PI = 0x1.9884533d43651p-2;
    float a = min_f(fabsf(x), 14.6f);
    /* Φ(−a) − a·φ(a) = e^{−a²/2}(G(a) − a/√(2π)); f'(x) = that for x < 0, 1 − that for x ≥ 0 */
    float t = gauss_scaled(a, gauss_mills(a) - (double)a * INV_SQRT_2PI);
    float slope = x < 0.0f ? t : 1.0f - t;
    return x != x ? x : slope;
}

/* ---- GEM family --------------------------------------------------------------------------- */

/* (h, l)·(h2, l2) as a double-float. */
INLINE void dd_mul(float h, float l, float h2, float l2, float *oh, float *ol) {
    float p = h * h2;
    *ol = fmaf(h, h2, -p) + (h * l2 + l * h2);
    *oh = p;
}


/* (u, u_lo)^N: straight code for N ≤ 4 (vectorised), binary powering beyond (scalar). */
INLINE void dd_pow(float u, float u_lo, int N, float *s, float *s_lo) {
    float w, w_lo;
    switch (N) {
    case 1: *s = u; *s_lo = u_lo; return;
    case 2: dd_mul(u, u_lo, u, u_lo, s, s_lo); return;
    case 3: dd_mul(u, u_lo, u, u_lo, &w, &w_lo); dd_mul(w, w_lo, u, u_lo, s, s_lo); return;
    case 4: dd_mul(u, u_lo, u, u_lo, &w, &w_lo); dd_mul(w, w_lo, w, w_lo, s, s_lo); return;
    }
    float p = 1.0f, p_lo = 0.0f, b = u, b_lo = u_lo;
    for (int e = N; e > 0; e >>= 1) {
        if (e & 1) dd_mul(p, p_lo, b, b_lo, &p, &p_lo);
        dd_mul(b, b_lo, b, b_lo, &b, &b_lo);
    }
    *s = p;
    *s_lo = p_lo;
}

/* s = (a·k)^{2N} as the double-float s + s_lo (t = a·k and the powers carried exactly to
 * ~2^-44), and r = 1/(1 + s) as the double-float r + r_lo to ~2^-44 (one Newton step against
 * the exact 1 + s = d + d_lo, its correction kept apart: r alone is only within 0.5 ulp).
 * a ≤ a_max = 2^{20/N}/k, i.e. s ≤ 2^40: beyond, q = s/(1 + s) is 1 in float32. */
typedef struct {
    float s, s_lo, r, r_lo;
} gem_power_t;

INLINE gem_power_t gem_power(float a, int N, float k_hi, float k_lo) {
    float t = a * k_hi;
    float t_lo = fmaf(a, k_hi, -t) + a * k_lo;
    float u, u_lo, s, s_lo;
    dd_mul(t, t_lo, t, t_lo, &u, &u_lo); /* t² */
    dd_pow(u, u_lo, N, &s, &s_lo);       /* s = t^{2N} */
    float d = 1.0f + s;
    float big = max_f(s, 1.0f), small = min_f(s, 1.0f);
    float d_lo = ((big - d) + small) + s_lo; /* 1 + s = d + d_lo exactly (fast two-sum) */
    float r0 = 1.0f / d;
    gem_power_t out = {s, s_lo, r0, r0 * (fmaf(-r0, d, 1.0f) - r0 * d_lo)};
    return out;
}

/* The GEM loops for one N and one branch structure. Forward y = a·s·r, times −α where x < 0
 * for se_gem (SYM = 1); backward dx = dy·(q + 2N·q·r), q = s·r, times α where x < 0 for
 * se_gem. SYM is a literal, so gem and e_gem carry no se_gem branch (−15% time, measured). */
#define GEM_LOOPS(NAME, NCONST, SYM)                                                           \
    static void NAME##_forward(const float *x, float *y, int64_t n, int N, float k_hi,         \
                               float k_lo, float a_max, float alpha, int threads) {            \
        (void)N;                                                                               \
        LOOP for (int64_t i = 0; i < n; ++i) {                                                 \
            float xi = x[i];                                                                   \
            float a = SYM ? fabsf(xi) : (xi > 0.0f ? xi : 0.0f);                               \
            float ac = min_f(a, a_max);                                                        \
            gem_power_t g = gem_power(ac, NCONST, k_hi, k_lo);                                 \
            float p = ac * g.s, p_lo = fmaf(ac, g.s, -p) + ac * g.s_lo;                        \
            float m = a > a_max ? a : fmaf(p, g.r, fmaf(p, g.r_lo, p_lo * g.r));               \
            if (SYM) { /* −α·m: a second rounding (1.32 ulp worst); folding α into the         \
                        * compensated product gives 0.84 ulp for +22% time (measured) */       \
                float neg = alpha == 0.0f ? 0.0f : -alpha * m; /* α = 0: no 0·∞ */            \
                m = xi < 0.0f ? neg : m;                                                       \
            }                                                                                  \
            y[i] = xi != xi ? xi : m;                                                          \
        }                                                                                      \
    }                                                                                          \
    static void NAME##_backward(const float *x, const float *dy, float *dx, int64_t n, int N,  \
                                float k_hi, float k_lo, float a_max, float alpha,              \
                                int threads) {                                                 \
        const float TWO_N = (float)(2 * N);                                                    \
        LOOP for (int64_t i = 0; i < n; ++i) {                                                 \
            float xi = x[i];                                                                   \
            float a = SYM ? fabsf(xi) : (xi > 0.0f ? xi : 0.0f);                               \
            gem_power_t g = gem_power(min_f(a, a_max), NCONST, k_hi, k_lo);                    \
            float q = g.s * g.r, q_lo = fmaf(g.s, g.r, -q) + fmaf(g.s, g.r_lo, g.s_lo * g.r);  \
            float tail = fmaf(TWO_N * q, g.r_lo, q_lo * fmaf(TWO_N, g.r, 1.0f));               \
            float slope = q + fmaf(TWO_N * q, g.r, tail);                                      \
            slope = SYM && xi < 0.0f ? alpha * slope : slope;                                  \
            dx[i] = dy[i] * (xi != xi ? xi : slope);                                           \
        }                                                                                      \
    }

GEM_LOOPS(gem_1, 1, 0)
GEM_LOOPS(gem_2, 2, 0)
GEM_LOOPS(gem_3, 3, 0)
GEM_LOOPS(gem_4, 4, 0)
GEM_LOOPS(gem_n, N, 0)
GEM_LOOPS(se_gem_1, 1, 1)
GEM_LOOPS(se_gem_2, 2, 1)
GEM_LOOPS(se_gem_3, 3, 1)
GEM_LOOPS(se_gem_4, 4, 1)
GEM_LOOPS(se_gem_n, N, 1)

/* ---- exported entry points (ctypes) ------------------------------------------------------- */

/* Give a fresh output of ≥ 4 MiB its pages before the loop writes it: advise its 2-MiB-aligned
 * interior as transparent huge pages, then touch one float per 2 MiB (in parallel), which makes
 * the kernel allocate and zero each huge page at once. Measured on the project's 2-core KVM
 * guest, per 64 MiB output: page faults taken inside these compute-heavy loops cost ~23 ms with
 * 4-KiB pages and ~11 ms with 2-MiB pages, a plain x.clone() pays ~12.5 ms, this pre-touch
 * 2.5–2.9 ms (the gem forward goes from 30 to 15 ms). Without THP (madvise fails: non-Linux,
 * THP "never") nothing is touched. GATELAB_HUGE_PAGES=0 switches it off. */
static int huge_pages = 1;

void gatelab_set_huge_pages(int on) { huge_pages = on; }

static void prepare_output(float *out, int64_t n, int threads) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t HUGE = (uintptr_t)1 << 21;
    if (!huge_pages || n * (int64_t)sizeof(float) < ((int64_t)1 << 22)) return;
    uintptr_t begin = ((uintptr_t)out + HUGE - 1) & ~(HUGE - 1);
    uintptr_t end = ((uintptr_t)out + (uintptr_t)n * sizeof(float)) & ~(HUGE - 1);
    if (end <= begin || madvise((void *)begin, end - begin, MADV_HUGEPAGE) != 0) return;
    int64_t pages = (int64_t)((end - begin) / HUGE);
    float *first = (float *)begin;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t p = 0; p < pages; ++p) first[p * (int64_t)(HUGE / sizeof(float))] = 0.0f;
#else
    (void)out;
    (void)n;
    (void)threads;
#endif
}

/* The GEM entry points: pick the loop compiled for N (1–4, else generic) and the branches. */
#define GEM_CALL(PASS, ...)                                                                    \
    switch (N) {                                                                               \
    case 1: (symmetric ? se_gem_1_##PASS : gem_1_##PASS)(__VA_ARGS__); break;                 \
    case 2: (symmetric ? se_gem_2_##PASS : gem_2_##PASS)(__VA_ARGS__); break;                 \
    case 3: (symmetric ? se_gem_3_##PASS : gem_3_##PASS)(__VA_ARGS__); break;                 \
    case 4: (symmetric ? se_gem_4_##PASS : gem_4_##PASS)(__VA_ARGS__); break;                 \
    default: (symmetric ? se_gem_n_##PASS : gem_n_##PASS)(__VA_ARGS__);                       \
    }

void gatelab_gem_forward(const float *x, float *y, int64_t n, int N, float k_hi, float k_lo,
                         float a_max, int symmetric, float alpha, int threads) {
    prepare_output(y, n, threads);
    GEM_CALL(forward, x, y, n, N, k_hi, k_lo, a_max, alpha, threads)
}

void gatelab_gem_backward(const float *x, const float *dy, float *dx, int64_t n, int N,
                          float k_hi, float k_lo, float a_max, int symmetric, float alpha,
                          int threads) {
    prepare_output(dx, n, threads);
    GEM_CALL(backward, x, dy, dx, n, N, k_hi, k_lo, a_max, alpha, threads)
}

void gatelab_gelu_forward(const float *x, float *y, int64_t n, int threads) {
    prepare_output(y, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) y[i] = gelu_value(x[i]);
}

void gatelab_gelu_backward(const float *x, const float *dy, float *dx, int64_t n, int threads) {
    prepare_output(dx, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * gelu_slope(x[i]);
}

/* silu (β) and gelu_sigmoid (β = 1.702): v = βx with β = b_hi + b_lo. */
void gatelab_logistic_forward(const float *x, float *y, int64_t n, float b_hi, float b_lo,
                              int threads) {
    prepare_output(y, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) {
        float xi = x[i], v, v_lo;
        scaled_argument(xi, b_hi, b_lo, &v, &v_lo);
        float out = logistic_gated(xi, v, v_lo);
        y[i] = xi == -INFINITY ? -0.0f : out; /* −inf·σ(−inf) is −0, not NaN */
    }
}

void gatelab_logistic_backward(const float *x, const float *dy, float *dx, int64_t n,
                               float b_hi, float b_lo, int threads) {
    prepare_output(dx, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) {
        float xi = x[i], v, v_lo;
        scaled_argument(xi, b_hi, b_lo, &v, &v_lo);
        dx[i] = dy[i] * logistic_gated_slope(xi, v, v_lo, b_hi);
    }
}

void gatelab_gelu_tanh_forward(const float *x, float *y, int64_t n, int threads) {
    prepare_output(y, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) {
        float xi = x[i], v, v_lo;
        tanh_argument(xi, &v, &v_lo);
        float xl = xi < -12.0f ? -12.0f : xi; /* σ(v) = 0 below: keeps −inf·0 out */
        y[i] = logistic_gated(xl, v, v_lo);
    }
}

void gatelab_gelu_tanh_backward(const float *x, const float *dy, float *dx, int64_t n,
                                int threads) {
    prepare_output(dx, n, threads);
    LOOP for (int64_t i = 0; i < n; ++i) {
        float xi = x[i], v, v_lo;
        tanh_argument(xi, &v, &v_lo);
        float xc = min_f(max_f(xi, -12.0f), 12.0f);
        float slope = logistic_gated_slope(xc, v, v_lo, tanh_argument_slope(xi));
        dx[i] = dy[i] * (xi != xi ? xi : slope);
    }
}
