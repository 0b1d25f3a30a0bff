/**
 * Which roles may call which RPC through the gateway: per service a read set (GET bindings) and
 * a write set (everything else), and per method the exceptions. The gateway refuses any other
 * role with 403 before calling the service; the caller token then carries the same role and
 * scope, and the service checks both again with its own, finer rules.
 *
 * `street_officer` reads what a compound office reads, for its area's compounds, and keeps the
 * compound and resident registry of its area; `auditor` reads the audit log and, masked, what
 * the district reads, and never writes; `platform_operator` keeps devices, storage and the
 * police upload sessions and sees figures (no personal data) and manages accounts; `resident`
 * authorises their own visitors. `service` is for services' own calls and never a person's.
 * Each service checks the same roles again (their `READERS`/`REGISTRARS`-style lists).
 */
import type { Role } from '@anfang/platform/auth';
import type { RoutedService } from '../upstreams.ts';

/** Roles of people, as the gateway signs them in. */
export const PERSON_ROLES = [
  'district_admin',
  'street_officer',
  'community_manager',
  'property_staff',
  'guard',
  'police',
  'auditor',
  'platform_operator',
  'resident',
] as const satisfies readonly Role[];

const OFFICES = ['district_admin', 'street_officer', 'community_manager'] as const satisfies readonly Role[];
const SITE = ['property_staff', 'guard'] as const satisfies readonly Role[];
const READERS = [...OFFICES, ...SITE, 'police', 'auditor'] as const satisfies readonly Role[];
const REGISTRARS = [
  'district_admin',
  'community_manager',
  'property_staff',
] as const satisfies readonly Role[];
const OPERATOR_VIEW = [...READERS, 'platform_operator'] as const satisfies readonly Role[];
/** Devices hold no personal data: the platform operator keeps them beside the site. */
const DEVICE_KEEPERS = [
  'district_admin',
  'property_staff',
  'platform_operator',
] as const satisfies readonly Role[];

const ALARM_HANDLERS = [...REGISTRARS, 'guard', 'police'] as const satisfies readonly Role[];

interface ServicePolicy {
  readonly read: readonly Role[];
  readonly write: readonly Role[];
  /** By the method's proto name. */
  readonly methods?: Readonly<Record<string, readonly Role[]>>;
}

export const POLICY: Readonly<Record<RoutedService, ServicePolicy>> = {
  'anfang.alarm.v1.PerimeterAlarmService': {
    read: READERS,
    write: REGISTRARS,
    methods: {
      // The alarm console: whoever is on duty handles alarms and arms zones — the site's guards,
      // and the police, who answer watchlist hits and intrusions (perimeter-alarms' OPERATORS).
      AcknowledgeAlarm: ALARM_HANDLERS,
      AssignAlarm: ALARM_HANDLERS,
      CommentAlarm: ALARM_HANDLERS,
      StartAlarm: ALARM_HANDLERS,
      ResolveAlarm: ALARM_HANDLERS,
      SetZoneArming: ALARM_HANDLERS,
    },
  },
  'anfang.compliance.v1.ComplianceService': {
    read: OPERATOR_VIEW,
    // A town/street office keeps its area's compounds; a bulk import spans areas.
    write: ['district_admin', 'street_officer'],
    methods: { ImportCompounds: ['district_admin'] },
  },
  'anfang.device.v1.DeviceRegistryService': {
    read: OPERATOR_VIEW,
    write: DEVICE_KEEPERS,
  },
  'anfang.identity.v1.IdentityService': {
    read: READERS,
    // Town/street offices collect and keep their area's basic information (SPEC §1).
    write: [...REGISTRARS, 'street_officer'],
    methods: {
      // Watchlists of persons are managed only by the police (SPEC §5).
      AddWatchlistEntry: ['police'],
      RemoveWatchlistEntry: ['police'],
      RegisterVisit: [...REGISTRARS, 'guard', 'resident'],
      CheckOutVisit: [...REGISTRARS, 'guard'],
      // Door decisions are the devices' and the guard console's remote opening.
      Authorize: ['guard', 'property_staff'],
    },
  },
  'anfang.patrol.v1.PatrolService': {
    read: READERS,
    write: REGISTRARS,
  },
  'anfang.vehicle.v1.VehicleAccessService': {
    read: READERS,
    write: REGISTRARS,
    methods: {
      SetWatchlistEntry: ['police'],
      RemoveWatchlistEntry: ['police'],
      ListWatchlistEntries: ['police'],
      CreateVisitorAuthorisation: [...REGISTRARS, 'resident'],
      RevokeVisitorAuthorisation: [...REGISTRARS, 'resident'],
      ListVisitorAuthorisations: [...READERS, 'resident'],
      ReleaseHeldVehicle: ['guard', 'property_staff', 'community_manager'],
    },
  },
  'anfang.video.v1.VideoIndexService': {
    read: OPERATOR_VIEW,
    write: REGISTRARS,
    methods: {
      // Legal holds are the police's (SPEC §3); retention is the district's decision.
      PlaceHold: ['police'],
      ReleaseHold: ['police'],
      SetRetention: ['district_admin'],
      RunReconciliation: ['district_admin', 'platform_operator'],
      // Images (faces among them) are personal data: not the platform operator's (/v1/media).
      GetImage: READERS,
      ListReconciliationReports: ['district_admin', 'platform_operator'],
    },
  },
  'anfang.police.v1.PoliceUploadService': {
    read: ['district_admin', 'police', 'platform_operator', 'auditor'],
    write: ['district_admin', 'police'],
    methods: { RetryDeadLetters: ['district_admin', 'police', 'platform_operator'] },
  },
};

/** The roles that may call the method (bound to `httpMethod`) through the gateway. */
export function rolesFor(service: RoutedService, method: string, httpMethod: string): readonly Role[] {
  const policy = POLICY[service];
  return policy.methods?.[method] ?? (httpMethod === 'GET' ? policy.read : policy.write);
}

/** Roles that may ask for personal data unmasked (with a purpose, every read audited). */
export const REVEAL_ROLES: readonly Role[] = ['police', 'community_manager'];

/** Roles that search and verify the audit log. */
export const AUDIT_ROLES: readonly Role[] = ['auditor', 'platform_operator'];

/** Roles that manage the gateway's accounts. */
export const ACCOUNT_ADMIN_ROLES: readonly Role[] = ['district_admin', 'platform_operator'];

/** Roles that see a compound's site plan (markers carry no personal data). */
export const SITE_PLAN_READERS: readonly Role[] = OPERATOR_VIEW;

/** Roles that place markers on the site plan (scope checked per compound). */
export const SITE_PLAN_EDITORS: readonly Role[] = [
  'property_staff',
  'community_manager',
  'district_admin',
  'platform_operator',
];
