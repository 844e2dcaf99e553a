package dev.entangle.core.engine;

/**
 * A symmetric G and its rank-one downdate G − y·yᵀ share their whole tridiagonal form but its
 * first entry, once both are seen in a basis whose first vector is y's direction.
 *
 * <p>The Householder reflector P = I − 2·v·vᵀ/(vᵀv), v = y + sign(y₁)·‖y‖·e₁, maps y to
 * −sign(y₁)·‖y‖·e₁, so P·(G − y·yᵀ)·P = B − ‖y‖²·e₁e₁ᵀ with B = P·G·P. LAPACK's lower
 * tridiagonal reduction (dsytrd, uplo L) builds every reflector from the entries below the
 * diagonal and applies it to the rows and columns after the first, so it never reads or changes
 * B₁₁: B and B − ‖y‖²·e₁e₁ᵀ reduce to the same (d, e) with d₁ apart by ‖y‖². One O(n³)
 * reduction and two O(n²) tridiagonal solves then replace two full eigen-solves.
 */
public final class RankOneDowndate {

    private RankOneDowndate() {}

    /** Refuses a G that is not n × n or a y that is not n long. */
    static void check(double[] g, int n, double[] y) {
        if (g.length != (long) n * n) throw new IllegalArgumentException("G has " + g.length + " values, not " + n + "²");
        if (y.length != n) throw new IllegalArgumentException("y has " + y.length + " entries, not " + n);
    }

    /** ‖y‖², the amount by which the downdate lowers B₁₁. */
    static double squaredNorm(double[] y) {
        double s = 0;
        for (double x : y) s += x * x;
        return s;
    }

    /**
     * The upper triangle (row-major) of B = P·G·P for a symmetric row-major G, in O(n²): with
     * p = (2/vᵀv)·G·v and q = p − (vᵀp/vᵀv)·v, P·G·P = G − v·qᵀ − q·vᵀ. That triangle is all that
     * LAPACK's lower reduction of the column-major view reads; the one below is left zero. G
     * itself is left as it was.
     */
    static double[] reflectedUpper(double[] g, int n, double[] y) {
        check(g, n, y);
        double norm = Math.sqrt(squaredNorm(y));
        double[] b = new double[g.length];
        if (norm == 0) {
            for (int i = 0; i < n; i++) System.arraycopy(g, i * n + i, b, i * n + i, n - i);
            return b;
        }
        double[] v = y.clone();
        v[0] += Math.copySign(norm, y[0]);   // the sign that adds, so v has no cancellation
        double beta = squaredNorm(v);
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            int row = i * n;
            for (int j = 0; j < n; j++) s += g[row + j] * v[j];
            p[i] = 2 * s / beta;
        }
        double vp = 0;
        for (int i = 0; i < n; i++) vp += v[i] * p[i];
        double k = vp / beta;
        double[] q = new double[n];
        for (int i = 0; i < n; i++) q[i] = p[i] - k * v[i];
        for (int i = 0; i < n; i++) {
            int row = i * n;
            double vi = v[i], qi = q[i];
            for (int j = i; j < n; j++) b[row + j] = g[row + j] - (vi * q[j] + qi * v[j]);
        }
        return b;
    }
}
