package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/host"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/dashboard"
)

// version names the build in the admin API's status.
const version = "0.11.0-dev"

// newServeCmd is `airssys-wasm serve`: the host as a service.
func newServeCmd() *cobra.Command {
	var cfgFile, dataDir string
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve [--config host.toml]",
		Short: "Run the host as a service: apps, the admin API and the HTTP gateway",
		Long: `serve runs a long-lived host. With no config it starts on the defaults
(SCHEMA.md, "host.toml"): its data in the user's data directory, the admin API
on a unix socket there, the HTTP gateway on 127.0.0.1:8080, and the default
policy, written on first start, which admits nothing until a publisher key is
listed in it. The apps deployed before are brought back at start.

Signals: SIGTERM or Ctrl-C stops it (requests and mailboxes drain within
host.shutdown-drain); SIGHUP reads host.toml and the policy again and admits
every running actor again under them.

--dev allows everything (unsigned components, every capability): never in
production; no file can ask for it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), cfgFile, dataDir, dev, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "host.toml (default: none, the documented defaults)")
	cmd.Flags().StringVar(&dataDir, "data", "", "the data directory, over host.toml's host.data-dir")
	cmd.Flags().BoolVar(&dev, "dev", false, "allow everything: unsigned components, every capability (development only)")
	return cmd
}

// loadHostConfig reads host.toml (or the defaults) with --data applied.
func loadHostConfig(file, dataDir string) (*config.Host, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if dataDir != "" {
		abs, err := filepath.Abs(dataDir)
		if err != nil {
			return nil, err
		}
		if cfg.PolicyDefault {
			cfg.Policy = filepath.Join(abs, config.DefaultPolicyFile)
		}
		if cfg.Admin.Socket == filepath.Join(cfg.DataDir, config.DefaultAdminSocket) {
			cfg.Admin.Socket = filepath.Join(abs, config.DefaultAdminSocket)
		}
		cfg.DataDir = abs
	}
	return cfg, cfg.Validate()
}

func serve(ctx context.Context, file, dataDir string, dev bool, stderr interface{ Write([]byte) (int, error) }) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := loadHostConfig(file, dataDir)
	if errs := config.Errors(err); len(errs) > 0 {
		// Every problem on its own line, with its file, line and key.
		for _, e := range errs {
			fmt.Fprintf(stderr, "airssys-wasm serve: %v\n", e)
		}
		return exitStatus(exitUsage)
	}
	if err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP is ours from the start: one during a long restore must not
	// kill the host (it is handled once the host runs).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, err := host.Open(ctx, cfg, host.Options{Logger: log, Dev: dev, Version: version,
		Pages: func(ctx context.Context, b admin.Backend, log *slog.Logger) (string, http.Handler, error) {
			h, err := dashboard.New(b, dashboard.Options{Context: ctx, Logger: log})
			return dashboard.DefaultPrefix, h, err
		}})
	if err != nil {
		return err
	}
	restored, err := s.Restore(ctx)
	if err != nil {
		log.Error("some apps were not restored", "err", err)
	}
	if len(restored) > 0 {
		log.Info("restored apps", "apps", strings.Join(restored, ","))
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := loadHostConfig(file, dataDir)
				if err == nil {
					var res []actorResult
					res, err = s.Reload(ctx, next)
					for _, r := range res {
						log.Info("reload", "actor", r.ID, "action", r.Action, "err", r.Error)
					}
				}
				if err != nil {
					log.Error("reload refused: the host goes on as it was", "err", err)
				}
			}
		}
	}()
	err = s.Run(ctx, func(a host.Addrs) {
		fmt.Fprintf(stderr, "airssys-wasm serve: admin %s, gateway %s\n", a.Socket, orNone(a.Gateway))
	})
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func orNone(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

type actorResult = admin.ActorResult
