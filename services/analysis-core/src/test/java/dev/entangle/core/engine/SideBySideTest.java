package dev.entangle.core.engine;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenBLAS's side-by-side groups: results in order, a core each, one group at a time, the thread count restored. */
class SideBySideTest {

    private final OpenBlasLinearAlgebra la = new OpenBlasLinearAlgebra();
    private int before;

    @BeforeEach
    void twoThreadsPerCall() {
        before = OpenBlasLinearAlgebra.threadsPerCall();
        OpenBlasLinearAlgebra.threadsPerCall(2);
    }

    @AfterEach
    void restore() {
        OpenBlasLinearAlgebra.threadsPerCall(before);
    }

    private static int libraryThreads() throws Throwable {
        return (int) OpenBlasLibrary.get().getNumThreads.handle().invokeExact();
    }

    @Test
    void resultsComeInOrderAndEqualOneAfterAnother() {
        Random r = new Random(3);
        List<double[]> grams = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            double[] a = EnginesTest.gaussian(r, 40 * 30);
            grams.add(la.gram(a, 40, 30, i % 2 == 0));
        }
        List<Supplier<double[]>> work = new ArrayList<>();
        for (double[] g : grams) work.add(() -> la.symmetricEigenvalues(g, (int) Math.round(Math.sqrt(g.length))));
        List<double[]> got = la.sideBySide(work);
        assertEquals(grams.size(), got.size());
        for (int i = 0; i < grams.size(); i++) {
            double[] g = grams.get(i);
            assertArrayEquals(la.symmetricEigenvalues(g, (int) Math.round(Math.sqrt(g.length))), got.get(i), 1e-10);
        }
    }

    @Test
    void piecesRunAtOnceWithOneLibraryThreadEachAndTheCountIsRestored() throws Throwable {
        CountDownLatch both = new CountDownLatch(2);
        AtomicInteger threadsSeen = new AtomicInteger();
        Supplier<Boolean> piece = () -> {
            try {
                threadsSeen.set(libraryThreads());
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            both.countDown();
            try {
                return both.await(20, TimeUnit.SECONDS);   // one after another, the first would wait for ever
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
        assertEquals(List.of(true, true), la.sideBySide(List.of(piece, piece)));
        assertEquals(1, threadsSeen.get());
        assertEquals(2, libraryThreads());
        assertEquals(2, OpenBlasLinearAlgebra.threadsPerCall());
    }

    @Test
    void aGroupInsideAGroupRunsInTurnOnItsCallersThread() {
        Supplier<Boolean> inner = () -> {
            Thread caller = Thread.currentThread();
            List<Thread> ran = la.sideBySide(List.of(Thread::currentThread, Thread::currentThread));
            return ran.get(0) == caller && ran.get(1) == caller;
        };
        assertEquals(List.of(true, true), la.sideBySide(List.of(inner, inner)));
    }

    @Test
    void oneThreadPerCallRunsThePiecesInTurn() {
        OpenBlasLinearAlgebra.threadsPerCall(1);
        Thread caller = Thread.currentThread();
        for (Thread t : la.sideBySide(List.<Supplier<Thread>>of(Thread::currentThread, Thread::currentThread))) assertSame(caller, t);
    }

    @Test
    void aFailingPieceFailsTheGroupOnceTheOthersHaveEnded() throws Throwable {
        AtomicInteger finished = new AtomicInteger();
        Supplier<Integer> slow = () -> {
            la.symmetricEigenvalues(la.gram(EnginesTest.gaussian(new Random(1), 200 * 200), 200, 200, true), 200);
            return finished.incrementAndGet();
        };
        Supplier<Integer> failing = () -> {
            throw new IllegalStateException("piece failed");
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> la.sideBySide(List.of(slow, failing, slow)));
        assertEquals("piece failed", e.getMessage());
        assertEquals(2, finished.get());
        assertEquals(2, libraryThreads());
        assertTrue(la.sideBySide(List.of(slow, slow)).size() == 2, "the lanes are free again");
    }
}
