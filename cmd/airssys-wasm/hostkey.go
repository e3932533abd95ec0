package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/host"
)

// addHostsKey puts `hosts key` under root's hosts command.
func addHostsKey(root *cobra.Command) {
	if hosts, _, err := root.Find([]string{"hosts"}); err == nil && hosts != root {
		hosts.AddCommand(newHostsKeyCmd())
	}
}

// newHostsKeyCmd is `airssys-wasm hosts key`: this host's lattice public
// key, for the other hosts' [lattice.peers] (docs/lattice.md). It reads
// the key file host.toml names (lattice.key-file, default
// <data-dir>/lattice.key), making it there at the first use as serve
// would; the seed never leaves the file.
func newHostsKeyCmd() *cobra.Command {
	var cfgFile, dataDir string
	cmd := &cobra.Command{
		Use:   "key [--config host.toml]",
		Short: "print this host's lattice public key (the key file is made if missing), for the other hosts' [lattice.peers]",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadHostConfig(cfgFile, dataDir)
			if err != nil {
				return err
			}
			pub, err := host.LatticePublicKey(cfg)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), pub)
			return err
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "host.toml (default: none, the documented defaults)")
	cmd.Flags().StringVar(&dataDir, "data", "", "the data directory, over host.toml's host.data-dir")
	return cmd
}
