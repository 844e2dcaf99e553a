package dev.entangle.core.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The one tensorisation rule (paper Sec. III, eq. 14): a matrix [rows, cols] is read row-major
 * and its sites are the prime factors of rows in ascending order followed by the prime factors
 * of cols in ascending order. Cut k (1-based) separates the first k sites from the rest, so
 * dL is the product of the first k sites; the cut with dL = rows is the row/column cut.
 */
public final class Tensorisation {

    private Tensorisation() {}

    /** Prime factors of n ≥ 1 in ascending order, with multiplicity (empty for n = 1). */
    public static int[] primeFactors(long n) {
        if (n < 1) throw new IllegalArgumentException("cannot factorise " + n);
        List<Integer> f = new ArrayList<>();
        for (long p = 2; p * p <= n; p++) {
            while (n % p == 0) {
                f.add((int) p);
                n /= p;
            }
        }
        if (n > 1) {
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("prime factor " + n + " too large");
            f.add((int) n);
        }
        return f.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Sites of a [rows, cols] matrix: rows' prime factors ascending, then cols'. */
    public static int[] sites(long rows, long cols) {
        int[] r = primeFactors(rows);
        int[] c = primeFactors(cols);
        int[] s = Arrays.copyOf(r, r.length + c.length);
        System.arraycopy(c, 0, s, r.length, c.length);
        return s;
    }

    /** Product of all sites (the vector's length). */
    public static long size(int[] sites) {
        long n = 1;
        for (int s : sites) n = Math.multiplyExact(n, s);
        return n;
    }

    /** Explicit sites must be ≥ 2 each and multiply to the matrix size. */
    public static void checkSites(int[] sites, long rows, long cols) {
        for (int s : sites) {
            if (s < 2) throw new IllegalArgumentException("site dimension " + s + " < 2 in " + Arrays.toString(sites));
        }
        long n = Math.multiplyExact(rows, cols);
        if (size(sites) != n) {
            throw new IllegalArgumentException("sites " + Arrays.toString(sites) + " multiply to " + size(sites)
                    + ", not " + rows + "x" + cols + " = " + n);
        }
    }

    /** The cuts 1..n-1 of a chain of sites with their bipartition dimensions. */
    public static List<Cut> cuts(int[] sites) {
        long total = size(sites);
        List<Cut> cuts = new ArrayList<>();
        long dL = 1;
        for (int k = 1; k < sites.length; k++) {
            dL *= sites[k - 1];
            cuts.add(new Cut(k, dL, total / dL));
        }
        return cuts;
    }

    /** The cut whose left block is exactly the rows (dL = rows), or −1 when no cut has dL = rows. */
    public static int rowColumnCut(int[] sites, long rows) {
        long d = 1;
        for (int k = 0; k < sites.length - 1; k++) {
            d *= sites[k];
            if (d == rows) return k + 1;
        }
        return -1;
    }

    /** One bipartition: cut k, left dimension dL, right dimension dR. */
    public record Cut(int k, long dL, long dR) {
        /** χ = min(dL, dR), the largest possible Schmidt rank at this cut. */
        public long chi() { return Math.min(dL, dR); }

        /** Whether the left block is the smaller side (ties included): its spectrum comes from ρ_L. */
        public boolean leftIsSmaller() { return dL <= dR; }
    }
}
