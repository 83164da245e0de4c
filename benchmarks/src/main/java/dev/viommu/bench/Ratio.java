package dev.viommu.bench;

/**
 * A reported figure: the score of benchmark {@code measured} divided by that of {@code baseline} from the same
 * run (labels are {@code Class.method}), with the goal its issue sets (0: none; lower is better).
 */
public record Ratio(String name, String measured, String baseline, double goal) {
}
