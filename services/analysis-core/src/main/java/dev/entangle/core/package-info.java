/** The math of arXiv 2601.06788 (artificial entanglement of fine-tuning checkpoints) as a plain library. */
package dev.entangle.core;
