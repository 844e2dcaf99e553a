package dev.entangle.core.engine.cuda;

import dev.entangle.core.engine.Engines;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * "auto" takes the CUDA engine exactly where it can run; asked for by name where it cannot, it
 * says why (what was searched) instead of failing later in a native call.
 */
class CudaEngineSelectionTest {

    @Test
    void autoPicksCudaOnlyWhereItRuns() {
        if (CudaLinearAlgebra.available()) {
            assertEquals("cuda-ffm", Engines.named("auto").name());
            assertEquals("cuda-ffm", Engines.named("cuda").name());
            assertTrue(Engines.available().contains("cuda"));
            assertEquals("", CudaLinearAlgebra.unavailableReason());
        } else {
            assertEquals(dev.entangle.core.engine.OpenBlasLinearAlgebra.NAME, Engines.named("auto").name());
            assertFalse(Engines.available().contains("cuda"));
            String why = CudaLinearAlgebra.unavailableReason();
            assertFalse(why.isBlank());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Engines.named("cuda"));
            assertTrue(e.getMessage().contains("cannot run here") && e.getMessage().contains(why), e.getMessage());
        }
    }

    @Test
    void unknownEnginesAreNamedInTheError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engines.named("tpu"));
        assertTrue(e.getMessage().contains("'tpu'") && e.getMessage().contains("cuda"), e.getMessage());
    }
}
