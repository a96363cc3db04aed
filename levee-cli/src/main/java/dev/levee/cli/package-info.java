/** The {@code levee} command line: one subcommand per way of running Levee. */
package dev.levee.cli;
