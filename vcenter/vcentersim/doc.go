// Package vcentersim is a simulated vCenter 8, shaped like net/http/httptest:
// an in-process HTTPS server on a loopback port for tests and for the
// product's --simulate mode.
//
// It owns its own wire types and a simulated inventory, and serves the three
// HTTP surfaces of vCenter 8 the project uses: the Automation API (/api), the
// legacy Automation REST API (/rest) and VI/JSON (/sdk/vim25/{release}) for
// sessions, VM snapshots and tasks. It follows the contract in
// shared/vcenter-api.md and VMware's published specs, never a client: it
// imports nothing of this project, so a client bug cannot be mirrored into
// the stand-in. Where the contract is silent it behaves as vCenter 8 does, and
// the comment at the spot says so.
//
// # Use
//
//	sim := vcentersim.NewServer(vcentersim.Options{})
//	defer sim.Close()
//	resp, err := sim.Client().Get(sim.URL + "/api/vcenter/vm") // 401: log in first
//
// Test controls ([Server.Counters], [Server.Requests], [Server.VM],
// [Server.InjectFault], [Server.ExpireSessions], [Server.CompleteTasks], ...)
// are Go methods: none of them is reachable over HTTP. The request log keeps
// the most recent 100,000 requests ([Options.RequestLog]), so a --simulate
// server can run for hours; [Server.Counters] stay exact.
//
// # Releases
//
// [Options.Release] picks the build: "8.0.0.0" has no VI/JSON (every
// /sdk/vim25/... path is 404); "8.0.1.0" and "8.0.2.0" serve VI/JSON with its
// own login; "8.0.3.0", the default, accepts one session on every surface.
// A failed task's TaskInfo.error is the bare fault on 8.0.3, as a live 8.0.3
// sends it, and the documented LocalizedMethodFault before (contract
// changes §0.2). release.go is the one file that knows releases.
// [Options.SeparateVIJSONSessions] makes an 8.0.3 keep its sessions apart
// (VI/JSON refuses a vAPI token), as a build without the unified session
// would.
//
// # Wire shapes
//
// Where the contract records a live vCenter's shape, the simulator sends it:
// a /rest 401 carries its type only in "type", without value.error_type
// (contract §1.4); [Options.RESTErrorsWithoutErrorType] does the same for
// every /rest error, as 6.x did (§4).
//
// # Default inventory
//
// Ids come from one vpxd-like entity counter, so they are the same on every
// run. Snapshot ids ("snapshot-N") and task ids ("task-N") have counters of
// their own.
//
//	group-d1 "Datacenters" (root folder)
//	datacenter-2 DC-London     folders vm group-v3 (Production group-v7 > Databases group-v8,
//	                           Dev group-v9, Infra group-v10), host group-h4, datastore group-s5, network group-n6
//	  domain-c11 Prod-Cluster  DRS+HA; pools Resources resgroup-12 > Gold resgroup-13, Silver resgroup-14
//	    host-15 esx-ldn-01.corp.local, host-16 esx-ldn-02, host-17 esx-ldn-03 (CONNECTED)
//	  domain-c18 Dev-Cluster   HA only; pools Resources resgroup-19 > Dev-Team resgroup-20
//	    host-21 esx-ldn-04.corp.local (CONNECTED), host-22 esx-ldn-05.corp.local (NOT_RESPONDING)
//	  domain-s23 (standalone)  host-24 esx-ldn-edge-01.corp.local; pool Resources resgroup-25
//	  datastores  datastore-26 ldn-vmfs-01 VMFS 4 TiB, datastore-27 ldn-vmfs-02 VMFS 2 TiB with 58 GiB free
//	              (near full), datastore-28 ldn-nfs-iso NFS, datastore-29 ldn-vsan VSAN,
//	              datastore-30 esx-ldn-edge-01-local VMFS (not shared)
//	  networks    network-31 "VM Network", network-32 ldn-mgmt (standard); dvportgroup-33 ldn-prod-vlan100,
//	              dvportgroup-34 ldn-dev-vlan200, dvportgroup-35 ldn-dvs-01-DVUplinks (distributed)
//	datacenter-36 DC-Frankfurt folders vm group-v37 (Production group-v41, Batch group-v42), host group-h38, ...
//	  domain-c43 FRA-Cluster   DRS only; pools Resources resgroup-44 > Batch resgroup-45
//	    host-46 esx-fra-01, host-47 esx-fra-02 (CONNECTED), host-48 esx-fra-03 (DISCONNECTED)
//	  datastores  datastore-49 fra-vmfs-01 VMFS, datastore-50 fra-nfs41-01 NFS41
//	  networks    network-51 "VM Network", dvportgroup-52 fra-prod-vlan300
//	datacenter-53 Lab          folders vm group-v54 (Kubernetes group-v58, Legacy group-v59), host group-h55, ...
//	  domain-c60 Lab-Cluster   neither DRS nor HA; host-62 esx-lab-01.lab.local; pool resgroup-61
//	  domain-s63 (standalone)  host-64 esx-lab-02.lab.local; pool resgroup-65
//	  datastores  datastore-66 lab-nfs-01 NFS, datastore-67 esx-lab-02-local VMFS
//	  networks    network-68 "VM Network", network-69 lab-isolated
//
// The 36 VMs, vm-70 to vm-105 (power: on/off/susp; Tools: run = running,
// stopped = installed but not running, none = not installed; hot-add: C = CPU
// add, R = CPU remove, M = memory):
//
//	vm-70  web-01         on    run   2 vCPU/1 cps  4 GiB  C M   host-15 Production  snapshot "baseline" (current)
//	vm-71  web-02         on    run   2/1           4 GiB  C M   host-16 Production
//	vm-72  web-03         on    run   2/1           4 GiB  C M   host-17 Production
//	vm-73  web-04         off   —     2/1           4 GiB  C M   host-17 Production
//	vm-74  app-01         on    run   4/2           8 GiB  M     host-15 Production  (name also in DC-Frankfurt)
//	vm-75  app-02         on    run   4/2           8 GiB        host-16 Production
//	vm-76  db-01          on    run   8/2          32 GiB  C R   host-15 Databases   snapshot tree, see below
//	vm-77  db-02          on    run   8/2          64 GiB        host-16 Databases   Windows
//	vm-78  cache-01       susp  —     2/1          16 GiB        host-17 Production
//	vm-79  lb-01          on    none  2/2           2 GiB        host-15 Production
//	vm-80  legacy-app-01  on    stopped 2/1         6 GiB        host-17 Production  on the near-full datastore
//	vm-81  mon-01         on    run   2/1           4 GiB        host-16 Infra
//	vm-82  backup-01      off   —     4/2          16 GiB        host-17 Infra
//	vm-83  dev-web-01     on    run   2/1           4 GiB        host-21 Dev
//	vm-84  dev-db-01      off   —     4/2           8 GiB        host-21 Dev  snapshots clean-install (current) > seed-data
//	vm-85  test-01        susp  —     1/1           2 GiB        host-21 Dev
//	vm-86  ci-runner-01   on    run   4/1           8 GiB  C M   host-21 Dev
//	vm-87  ci-runner-02   on    run   4/1           8 GiB  C M   host-21 Dev
//	vm-88  ci-runner-03   off   —     4/1           8 GiB  C M   host-21 Dev
//	vm-89  build-01       on    run   4/2          12 GiB        host-21 Dev         Windows
//	vm-90  edge-proxy-01  on    run   2/1           2 GiB        host-24 Infra       standalone host
//	vm-91  app-01         on    run   4/2           8 GiB  M     host-46 Production  snapshot "pre-deploy" (current, quiesced)
//	vm-92  web-fra-01     on    run   2/1           4 GiB  C M   host-46 Production
//	vm-93  web-fra-02     on    run   2/1           4 GiB  C M   host-47 Production
//	vm-94  db-fra-01      on    run   4/2          16 GiB        host-47 Production
//	vm-95  batch-01       on    run   8/1          16 GiB        host-46 Batch
//	vm-96  batch-02       off   —     8/1          16 GiB        host-47 Batch
//	vm-97  batch-03       susp  —     8/1          16 GiB        host-47 Batch
//	vm-98  jump-fra-01    on    run   2/2           8 GiB        host-46 Production  Windows
//	vm-99  fra-archive-01 off   —     2/1           4 GiB        host-48 Production  on the disconnected host
//	vm-100 k8s-cp-01      on    run   2/1           4 GiB        host-62 Kubernetes
//	vm-101 k8s-worker-01  on    run   4/2           8 GiB        host-62 Kubernetes
//	vm-102 k8s-worker-02  on    run   4/2           8 GiB        host-62 Kubernetes
//	vm-103 win-lab-01     off   none  2/2           4 GiB        host-62 Legacy
//	vm-104 old-app-01     off   —     1/1           2 GiB        host-62 Legacy
//	vm-105 nested-esxi-01 on    run   4/4          16 GiB        host-64 Legacy      standalone host
//
// Snapshots (state, quiesced): vm-70 snapshot-1 "baseline"; vm-76 snapshot-2
// "before-patch-2025-03" > {snapshot-3 "after-patch" (poweredOn, memory) >
// snapshot-5 "pre-schema-change" (quiesced, current), snapshot-4
// "experiment-indexes"}; vm-84 snapshot-6 "clean-install" (current) >
// snapshot-7 "seed-data"; vm-91 snapshot-8 "pre-deploy" (quiesced).
//
// # History
//
// The simulator starts with a history that ends at its clock when it was
// created (history.go tells it in full), so that a triage finds something:
// about ten hours earlier host-22 (esx-ldn-05) failed and vSphere HA
// restarted vm-89 (build-01) and vm-87 (ci-runner-02) on host-21, which has
// been overloaded since (build-01: CPU ready ~9.5 % per vCPU, a red
// "Virtual machine CPU usage" alarm); five hours later bob reset vm-77
// (db-02), which balloons and swaps memory and sees disk latency above
// 20 ms since; carol rebooted vm-81's guest OS. Around it: reconfigurations,
// migrations and power operations by named users, DRS moves, daily logins,
// acknowledged alarms on the near-full datastore-27 and the disconnected
// host-48, tasks (task-1 to task-5: reconfigurations, a power-on, a failed
// migration in the last minutes and a clone of vm-88 still running) and tags
// in four categories. [Options.Events] pads the event log to any size.
// Performance samples are computed from the clock for every interval, with
// the story's anomalies laid over them ([Server.PerfSeries]). Power
// operations through the API log their events, as vCenter does.
//
// # Scaled inventory
//
// [Options.VMs] > 0 builds exactly that many VMs in a layout meant for the
// 4000-VM cap of the VM list (built in well under a second for 20,000):
//
//	DC-East  Cluster-Big: 60 % of the VMs; host esx-big-hot holds 5/12 of
//	         them (5000 of 20,000, over the cap), the other hosts ≤ 3500 each
//	DC-West  Cluster-West-NN: ≤ 3500 VMs each, on 4 hosts;
//	         esx-west-standalone: 2 % of the VMs on a standalone host
//
// Every VM folder ("Folder-001", ... per datacenter) holds at most 2000 VMs,
// so listing by cluster, then by host, then by host and folder reaches every
// VM exactly once. Names are unique ("web-00001", "app-00002", ...) except
// "app-01", once in each datacenter.
//
// # Coverage
//
// The Automation API operations served are those of contract §2 (lists,
// VM details, power, guest power and identity, Tools, CPU and memory, delete,
// datastore/datacenter/cluster/resource-pool details) and the sessions. On
// VI/JSON: ServiceInstance content, SessionManager Login/Logout/currentSession,
// the VirtualMachine properties name, runtime, parent, resourcePool,
// datastore, snapshot and rootSnapshot, the snapshot methods, snapshot
// vm/childSnapshot, HostSystem name/parent, and Task info/CancelTask; for
// observability (vcenter-api-observability.md): VirtualMachine summary and
// recentTask, HostSystem summary, triggeredAlarmState of every entity type,
// Alarm info, AlarmManager AcknowledgeAlarm, TaskManager recentTask,
// PerformanceManager perfCounter, historicalInterval, QueryPerf,
// QueryAvailablePerfMetric and QueryPerfCounter(ByLevel), EventManager
// QueryEvents and CreateCollectorForEvents with the EventHistoryCollector
// methods; and tagging on /api/cis/tagging and /rest/com/vmware/cis/tagging
// (categories, tags, associations). Any other path is a 404, counted as
// "UNMATCHED".
package vcentersim
