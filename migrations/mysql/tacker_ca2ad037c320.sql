-- Tacker's whole schema on MySQL / MariaDB at alembic revision ca2ad037c320, the head of
-- Tacker 10.0.0 through 16.0.0: every table `tacker-db-manage upgrade head` creates, with the
-- same columns, types, keys, constraint names and column order, so that `SHOW CREATE TABLE`
-- gives the same text for a database made by either, up to the order of secondary indexes,
-- which tacker-db-manage itself varies (test: crates/server/tests/mysql_tacker.rs,
-- tacker_db_manage_takes_over_a_database_this_server_created). JSON columns are SQLAlchemy's
-- `JSON` (native on MySQL, LONGTEXT with a json_valid check on MariaDB); tables take the
-- database's default charset.
--
-- tacker-server runs this only on a database without tables (crates/vim/src/store/mysql.rs):
-- tables in dependency order, each `IF NOT EXISTS` so an interrupted creation can be resumed,
-- then `alembic_version` stamped `ca2ad037c320`, after which tacker-db-manage manages the
-- database as if it had made it. A database that already has Tacker's tables is used as it is.
-- Statements end with `;` at the end of a line.

CREATE TABLE IF NOT EXISTS `AlarmV1` (
  `id` varchar(255) NOT NULL,
  `managedObjectId` varchar(255) NOT NULL,
  `vnfcInstanceIds` JSON,
  `rootCauseFaultyResource` JSON,
  `alarmRaisedTime` datetime NOT NULL,
  `alarmChangedTime` datetime DEFAULT NULL,
  `alarmClearedTime` datetime DEFAULT NULL,
  `alarmAcknowledgedTime` datetime DEFAULT NULL,
  `ackState` enum('UNACKNOWLEDGED','ACKNOWLEDGED') NOT NULL,
  `perceivedSeverity` enum('CRITICAL','MAJOR','MINOR','WARNING','INDETERMINATE','CLEARED') NOT NULL,
  `eventTime` datetime NOT NULL,
  `eventType` enum('COMMUNICATIONS_ALARM','PROCESSING_ERROR_ALARM','ENVIRONMENTAL_ALARM','QOS_ALARM','EQUIPMENT_ALARM') NOT NULL,
  `faultType` varchar(255) DEFAULT NULL,
  `probableCause` varchar(255) NOT NULL,
  `isRootCause` tinyint(1) NOT NULL,
  `correlatedAlarmIds` JSON,
  `faultDetails` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `CryptKey` (
  `id` varchar(36) NOT NULL,
  `secretUuid` varchar(36) DEFAULT NULL,
  `encryptedKey` varchar(255) NOT NULL,
  `keyType` varchar(36) NOT NULL,
  `inUse` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `FmSubscriptionV1` (
  `id` varchar(255) NOT NULL,
  `filter` JSON,
  `callbackUri` varchar(255) NOT NULL,
  `authentication` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `GrantRequestV1` (
  `vnfInstanceId` varchar(255) NOT NULL,
  `vnfLcmOpOccId` varchar(255) NOT NULL,
  `vnfdId` varchar(255) NOT NULL,
  `dstVnfdId` varchar(255) DEFAULT NULL,
  `flavourId` varchar(255) DEFAULT NULL,
  `operation` enum('INSTANTIATE','SCALE','SCALE_TO_LEVEL','CHANGE_FLAVOUR','TERMINATE','HEAL','OPERATE','CHANGE_EXT_CONN','CREATE_SNAPSHOT','REVERT_TO_SNAPSHOT','CHANGE_VNFPKG') NOT NULL,
  `isAutomaticInvocation` tinyint(1) NOT NULL,
  `instantiationLevelId` varchar(255) DEFAULT NULL,
  `addResources` JSON,
  `tempResources` JSON,
  `removeResources` JSON,
  `updateResources` JSON,
  `placementConstraints` JSON,
  `vimConstraints` JSON,
  `additionalParams` JSON,
  PRIMARY KEY (`vnfLcmOpOccId`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `GrantV1` (
  `id` varchar(255) NOT NULL,
  `vnfInstanceId` varchar(255) NOT NULL,
  `vnfLcmOpOccId` varchar(255) NOT NULL,
  `vimConnectionInfo` JSON,
  `zones` JSON,
  `zoneGroups` JSON,
  `addResources` JSON,
  `tempResources` JSON,
  `removeResources` JSON,
  `updateResources` JSON,
  `vimAssets` JSON,
  `extVirtualLinks` JSON,
  `extManagedVirtualLinks` JSON,
  `additionalParams` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `LccnSubscriptionV2` (
  `id` varchar(255) NOT NULL,
  `filter` JSON,
  `callbackUri` varchar(255) NOT NULL,
  `authentication` JSON,
  `verbosity` enum('FULL','SHORT') NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `PerformanceReportV2` (
  `id` varchar(255) NOT NULL,
  `jobId` varchar(255) NOT NULL,
  `entries` JSON NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `PmJobV2` (
  `id` varchar(255) NOT NULL,
  `objectType` varchar(32) NOT NULL,
  `objectInstanceIds` JSON NOT NULL,
  `subObjectInstanceIds` JSON,
  `criteria` JSON NOT NULL,
  `callbackUri` varchar(255) NOT NULL,
  `reports` JSON,
  `authentication` JSON,
  `metadata` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `ThresholdV2` (
  `id` varchar(255) NOT NULL,
  `objectType` varchar(32) NOT NULL,
  `objectInstanceId` varchar(255) NOT NULL,
  `subObjectInstanceIds` JSON,
  `criteria` JSON NOT NULL,
  `callbackUri` varchar(255) NOT NULL,
  `authentication` JSON,
  `metadata` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `VnfInstanceV2` (
  `id` varchar(255) NOT NULL,
  `vnfInstanceName` varchar(255) DEFAULT NULL,
  `vnfInstanceDescription` text DEFAULT NULL,
  `vnfdId` varchar(255) NOT NULL,
  `vnfProvider` varchar(255) NOT NULL,
  `vnfProductName` varchar(255) NOT NULL,
  `vnfSoftwareVersion` varchar(255) NOT NULL,
  `vnfdVersion` varchar(255) NOT NULL,
  `vnfConfigurableProperties` JSON,
  `vimConnectionInfo` JSON,
  `instantiationState` enum('NOT_INSTANTIATED','INSTANTIATED') NOT NULL,
  `instantiatedVnfInfo` JSON,
  `metadata` JSON,
  `extensions` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `VnfLcmOpOccV2` (
  `id` varchar(255) NOT NULL,
  `operationState` enum('STARTING','PROCESSING','COMPLETED','FAILED_TEMP','FAILED','ROLLING_BACK','ROLLED_BACK') NOT NULL,
  `stateEnteredTime` datetime NOT NULL,
  `startTime` datetime NOT NULL,
  `vnfInstanceId` varchar(255) NOT NULL,
  `grantId` varchar(255) DEFAULT NULL,
  `operation` enum('INSTANTIATE','SCALE','SCALE_TO_LEVEL','CHANGE_FLAVOUR','TERMINATE','HEAL','OPERATE','CHANGE_EXT_CONN','MODIFY_INFO','CREATE_SNAPSHOT','REVERT_TO_SNAPSHOT','CHANGE_VNFPKG') NOT NULL,
  `isAutomaticInvocation` tinyint(1) NOT NULL,
  `operationParams` JSON,
  `isCancelPending` tinyint(1) NOT NULL,
  `cancelMode` enum('GRACEFUL','FORCEFUL') DEFAULT NULL,
  `error` JSON,
  `resourceChanges` JSON,
  `changedInfo` JSON,
  `changedExtConnectivity` JSON,
  `modificationsTriggeredByVnfPkgChange` JSON,
  `vnfSnapshotInfoId` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `nsd` (
  `tenant_id` varchar(64) NOT NULL,
  `id` varchar(36) NOT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `vnfds` text DEFAULT NULL,
  `template_source` varchar(255) DEFAULT 'onboarded',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_nsd0tenant_id0name0deleted_at` (`tenant_id`,`name`,`deleted_at`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `ns` (
  `tenant_id` varchar(64) NOT NULL,
  `id` varchar(36) NOT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `nsd_id` varchar(36) DEFAULT NULL,
  `vim_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `vnf_ids` mediumtext DEFAULT NULL,
  `mgmt_ip_addresses` mediumtext DEFAULT NULL,
  `status` varchar(64) NOT NULL,
  `error_reason` text DEFAULT NULL,
  `vnffg_ids` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_ns0tenant_id0name0deleted_at` (`tenant_id`,`name`,`deleted_at`),
  KEY `nsd_id` (`nsd_id`),
  CONSTRAINT `ns_ibfk_1` FOREIGN KEY (`nsd_id`) REFERENCES `nsd` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnffgtemplates` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` varchar(255) DEFAULT NULL,
  `template` text DEFAULT NULL,
  `template_source` varchar(255) DEFAULT 'onboarded',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnffgs` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` varchar(255) DEFAULT NULL,
  `vnffgd_id` varchar(36) NOT NULL,
  `status` varchar(255) NOT NULL,
  `vnf_mapping` text DEFAULT NULL,
  `attributes` text DEFAULT NULL,
  `ns_id` varchar(36) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vnffgd_id` (`vnffgd_id`),
  KEY `vnffg_foreign_key` (`ns_id`),
  CONSTRAINT `vnffg_foreign_key` FOREIGN KEY (`ns_id`) REFERENCES `ns` (`id`),
  CONSTRAINT `vnffgs_ibfk_1` FOREIGN KEY (`vnffgd_id`) REFERENCES `vnffgtemplates` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnffgnfps` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `vnffg_id` varchar(36) NOT NULL,
  `name` varchar(255) NOT NULL,
  `status` varchar(255) NOT NULL,
  `path_id` varchar(255) DEFAULT NULL,
  `symmetrical` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vnffg_id` (`vnffg_id`),
  CONSTRAINT `vnffgnfps_ibfk_1` FOREIGN KEY (`vnffg_id`) REFERENCES `vnffgs` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnffgchains` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `instance_id` varchar(255) DEFAULT NULL,
  `nfp_id` varchar(36) NOT NULL,
  `status` varchar(255) NOT NULL,
  `path_id` varchar(255) DEFAULT NULL,
  `symmetrical` tinyint(1) DEFAULT NULL,
  `chain` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `nfp_id` (`nfp_id`),
  CONSTRAINT `vnffgchains_ibfk_1` FOREIGN KEY (`nfp_id`) REFERENCES `vnffgnfps` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnffgclassifiers` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `nfp_id` varchar(36) NOT NULL,
  `instance_id` varchar(255) DEFAULT NULL,
  `chain_id` varchar(36) NOT NULL,
  `status` varchar(255) NOT NULL,
  `name` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `nfp_id` (`nfp_id`),
  KEY `chain_id` (`chain_id`),
  CONSTRAINT `vnffgclassifiers_ibfk_1` FOREIGN KEY (`nfp_id`) REFERENCES `vnffgnfps` (`id`),
  CONSTRAINT `vnffgclassifiers_ibfk_2` FOREIGN KEY (`chain_id`) REFERENCES `vnffgchains` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `aclmatchcriterias` (
  `id` varchar(36) NOT NULL,
  `vnffgc_id` varchar(36) NOT NULL,
  `eth_src` varchar(36) DEFAULT NULL,
  `eth_dst` varchar(36) DEFAULT NULL,
  `eth_type` varchar(36) DEFAULT NULL,
  `vlan_id` int(11) DEFAULT NULL,
  `vlan_pcp` int(11) DEFAULT NULL,
  `mpls_label` int(11) DEFAULT NULL,
  `mpls_tc` int(11) DEFAULT NULL,
  `ip_dscp` int(11) DEFAULT NULL,
  `ip_ecn` int(11) DEFAULT NULL,
  `ip_src_prefix` varchar(36) DEFAULT NULL,
  `ip_dst_prefix` varchar(36) DEFAULT NULL,
  `source_port_min` int(11) DEFAULT NULL,
  `source_port_max` int(11) DEFAULT NULL,
  `destination_port_min` int(11) DEFAULT NULL,
  `destination_port_max` int(11) DEFAULT NULL,
  `ip_proto` int(11) DEFAULT NULL,
  `network_id` varchar(36) DEFAULT NULL,
  `network_src_port_id` varchar(36) DEFAULT NULL,
  `network_dst_port_id` varchar(36) DEFAULT NULL,
  `tenant_id` varchar(64) DEFAULT NULL,
  `icmpv4_type` int(11) DEFAULT NULL,
  `icmpv4_code` int(11) DEFAULT NULL,
  `arp_op` int(11) DEFAULT NULL,
  `arp_spa` int(11) DEFAULT NULL,
  `arp_tpa` int(11) DEFAULT NULL,
  `arp_sha` int(11) DEFAULT NULL,
  `arp_tha` int(11) DEFAULT NULL,
  `ipv6_src` varchar(36) DEFAULT NULL,
  `ipv6_dst` varchar(36) DEFAULT NULL,
  `ipv6_flabel` int(11) DEFAULT NULL,
  `icmpv6_type` int(11) DEFAULT NULL,
  `icmpv6_code` int(11) DEFAULT NULL,
  `ipv6_nd_target` varchar(36) DEFAULT NULL,
  `ipv6_nd_sll` varchar(36) DEFAULT NULL,
  `ipv6_nd_tll` varchar(36) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vnffgc_id` (`vnffgc_id`),
  CONSTRAINT `aclmatchcriterias_ibfk_1` FOREIGN KEY (`vnffgc_id`) REFERENCES `vnffgclassifiers` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `events` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `resource_id` varchar(36) NOT NULL,
  `resource_state` varchar(64) NOT NULL,
  `resource_type` varchar(64) NOT NULL,
  `event_type` varchar(64) NOT NULL,
  `timestamp` datetime NOT NULL,
  `event_details` text DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `nsd_attribute` (
  `id` varchar(36) NOT NULL,
  `nsd_id` varchar(36) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `nsd_id` (`nsd_id`),
  CONSTRAINT `nsd_attribute_ibfk_1` FOREIGN KEY (`nsd_id`) REFERENCES `nsd` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `placement_constraint` (
  `id` varchar(36) NOT NULL,
  `vnf_instance_id` varchar(36) NOT NULL,
  `affinity_or_anti_affinity` varchar(255) NOT NULL,
  `scope` varchar(255) NOT NULL,
  `server_group_name` varchar(255) NOT NULL,
  `resource` JSON NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnfd` (
  `id` varchar(255) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `mgmt_driver` varchar(255) DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `template_source` varchar(255) DEFAULT 'onboarded',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vnfd0tenant_id0name0deleted_at` (`tenant_id`,`name`,`deleted_at`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `servicetypes` (
  `tenant_id` varchar(64) NOT NULL,
  `id` varchar(36) NOT NULL,
  `vnfd_id` varchar(255) NOT NULL,
  `service_type` varchar(64) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `servicetypes_ibfk_1` (`vnfd_id`),
  CONSTRAINT `servicetypes_ibfk_1` FOREIGN KEY (`vnfd_id`) REFERENCES `vnfd` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vims` (
  `id` varchar(36) NOT NULL,
  `type` varchar(64) DEFAULT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `placement_attr` text DEFAULT NULL,
  `shared` tinyint(1) NOT NULL DEFAULT 0,
  `is_default` tinyint(1) NOT NULL DEFAULT 0,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `extra` JSON,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vims0tenant_id0name0deleted_at` (`tenant_id`,`name`,`deleted_at`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vimauths` (
  `id` varchar(36) NOT NULL,
  `vim_id` varchar(36) NOT NULL,
  `password` varchar(255) DEFAULT NULL,
  `auth_url` varchar(255) NOT NULL,
  `vim_project` text DEFAULT NULL,
  `auth_cred` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vimauths_ibfk_1` (`vim_id`),
  CONSTRAINT `vimauths_ibfk_1` FOREIGN KEY (`vim_id`) REFERENCES `vims` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf` (
  `id` varchar(36) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `name` varchar(255) NOT NULL,
  `vnfd_id` varchar(255) NOT NULL,
  `instance_id` varchar(12800) DEFAULT NULL,
  `mgmt_ip_address` varchar(255) DEFAULT NULL,
  `status` varchar(64) DEFAULT NULL,
  `description` text DEFAULT NULL,
  `placement_attr` text DEFAULT NULL,
  `vim_id` varchar(36) NOT NULL,
  `error_reason` text DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vnf0tenant_id0name0deleted_at` (`tenant_id`,`name`,`deleted_at`),
  KEY `devices_ibfk_2` (`vim_id`),
  KEY `vnf_ibfk_1` (`vnfd_id`),
  CONSTRAINT `vnf_ibfk_1` FOREIGN KEY (`vnfd_id`) REFERENCES `vnfd` (`id`),
  CONSTRAINT `vnf_ibfk_2` FOREIGN KEY (`vim_id`) REFERENCES `vims` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_packages` (
  `id` varchar(36) NOT NULL,
  `onboarding_state` varchar(255) NOT NULL,
  `operational_state` varchar(255) NOT NULL,
  `usage_state` varchar(255) NOT NULL,
  `tenant_id` varchar(64) NOT NULL,
  `algorithm` varchar(64) DEFAULT NULL,
  `hash` varchar(128) DEFAULT NULL,
  `location_glance_store` text DEFAULT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  `size` bigint(20) NOT NULL DEFAULT 0,
  `downloading` int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_artifacts` (
  `id` varchar(36) NOT NULL,
  `package_uuid` varchar(36) NOT NULL,
  `artifact_path` text NOT NULL,
  `algorithm` varchar(64) NOT NULL,
  `hash` varchar(128) NOT NULL,
  `_metadata` JSON,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `package_uuid` (`package_uuid`),
  CONSTRAINT `vnf_artifacts_ibfk_1` FOREIGN KEY (`package_uuid`) REFERENCES `vnf_packages` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_attribute` (
  `id` varchar(36) NOT NULL,
  `vnf_id` varchar(36) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vnf_attribute_ibfk_1` (`vnf_id`),
  CONSTRAINT `vnf_attribute_ibfk_1` FOREIGN KEY (`vnf_id`) REFERENCES `vnf` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_deployment_flavours` (
  `id` varchar(36) NOT NULL,
  `package_uuid` varchar(36) NOT NULL,
  `flavour_id` varchar(255) NOT NULL,
  `flavour_description` text NOT NULL,
  `instantiation_levels` text DEFAULT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `package_uuid` (`package_uuid`),
  CONSTRAINT `vnf_deployment_flavours_ibfk_1` FOREIGN KEY (`package_uuid`) REFERENCES `vnf_packages` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_instances` (
  `id` varchar(36) NOT NULL,
  `vnf_instance_name` varchar(255) DEFAULT NULL,
  `vnf_instance_description` varchar(1024) DEFAULT NULL,
  `vnfd_id` varchar(255) NOT NULL,
  `vnf_provider` varchar(255) NOT NULL,
  `vnf_product_name` varchar(255) NOT NULL,
  `vnf_software_version` varchar(255) NOT NULL,
  `vnfd_version` varchar(255) NOT NULL,
  `instantiation_state` varchar(255) NOT NULL,
  `task_state` varchar(255) DEFAULT NULL,
  `vim_connection_info` JSON,
  `tenant_id` varchar(64) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  `vnf_pkg_id` varchar(36) NOT NULL,
  `vnf_metadata` JSON,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_instantiated_info` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `vnf_instance_id` varchar(36) NOT NULL,
  `flavour_id` varchar(255) NOT NULL,
  `ext_cp_info` JSON,
  `ext_virtual_link_info` JSON,
  `ext_managed_virtual_link_info` JSON,
  `vnfc_resource_info` JSON,
  `vnf_virtual_link_resource_info` JSON,
  `virtual_storage_resource_info` JSON,
  `vnf_state` varchar(255) NOT NULL,
  `instance_id` text DEFAULT NULL,
  `instantiation_level_id` varchar(255) DEFAULT NULL,
  `additional_params` JSON,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  `vnfc_info` JSON,
  `scale_status` JSON,
  PRIMARY KEY (`id`),
  KEY `vnf_instance_id` (`vnf_instance_id`),
  CONSTRAINT `vnf_instantiated_info_ibfk_1` FOREIGN KEY (`vnf_instance_id`) REFERENCES `vnf_instances` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_lcm_subscriptions` (
  `id` varchar(36) NOT NULL,
  `callback_uri` varchar(255) NOT NULL,
  `authentication` JSON,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  `tenant_id` varchar(64) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_lcm_filters` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `subscription_uuid` varchar(36) NOT NULL,
  `filter` JSON NOT NULL,
  `notification_types` text GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.notificationTypes'))) VIRTUAL,
  `notification_types_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`notification_types`),0)) VIRTUAL,
  `operation_types` text GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.operationTypes'))) VIRTUAL,
  `operation_types_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`operation_types`),0)) VIRTUAL,
  `vnf_products_from_providers` JSON,
  `operation_states` mediumtext GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.operationStates'))) VIRTUAL,
  `operation_states_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`operation_states`),0)) VIRTUAL,
  `vnfd_ids` mediumtext GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.vnfInstanceSubscriptionFilter.vnfdIds'))) VIRTUAL,
  `vnfd_ids_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`vnfd_ids`),0)) VIRTUAL,
  `vnf_provider` mediumtext GENERATED ALWAYS AS (ifnull(json_unquote(json_extract(`vnf_products_from_providers`,'$.vnfProvider')),'')) VIRTUAL,
  `vnf_product_name` mediumtext GENERATED ALWAYS AS (ifnull(json_unquote(json_extract(`vnf_products_from_providers`,'$.vnfProducts[0].vnfProductName')),'')) VIRTUAL,
  `vnf_software_version` mediumtext GENERATED ALWAYS AS (ifnull(json_unquote(json_extract(`vnf_products_from_providers`,'$.vnfProducts[0].versions[0].vnfSoftwareVersion')),'')) VIRTUAL,
  `vnfd_versions` mediumtext GENERATED ALWAYS AS (json_unquote(json_extract(`vnf_products_from_providers`,'$.vnfProducts[0].versions[0].vnfdVersions'))) VIRTUAL,
  `vnfd_versions_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`vnfd_versions`),0)) VIRTUAL,
  `vnf_instance_ids` mediumtext GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.vnfInstanceSubscriptionFilter.vnfInstanceIds'))) VIRTUAL,
  `vnf_instance_ids_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`vnf_instance_ids`),0)) VIRTUAL,
  `vnf_instance_names` mediumtext GENERATED ALWAYS AS (json_unquote(json_extract(`filter`,'$.vnfInstanceSubscriptionFilter.vnfInstanceNames'))) VIRTUAL,
  `vnf_instance_names_len` int(11) GENERATED ALWAYS AS (ifnull(json_length(`vnf_instance_names`),0)) VIRTUAL,
  PRIMARY KEY (`id`),
  KEY `subscription_uuid` (`subscription_uuid`),
  CONSTRAINT `vnf_lcm_filters_ibfk_1` FOREIGN KEY (`subscription_uuid`) REFERENCES `vnf_lcm_subscriptions` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_lcm_op_occs` (
  `id` varchar(36) NOT NULL,
  `operation_state` varchar(16) DEFAULT NULL,
  `state_entered_time` datetime NOT NULL,
  `start_time` datetime NOT NULL,
  `vnf_instance_id` varchar(36) NOT NULL,
  `operation` varchar(16) DEFAULT NULL,
  `is_automatic_invocation` tinyint(1) NOT NULL,
  `operation_params` JSON,
  `error` JSON,
  `deleted` tinyint(1) DEFAULT NULL,
  `is_cancel_pending` tinyint(1) NOT NULL,
  `resource_changes` JSON,
  `error_point` int(11) DEFAULT NULL,
  `changed_info` JSON,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `grant_id` varchar(36) DEFAULT NULL,
  `changed_ext_connectivity` JSON,
  `tenant_id` varchar(64) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `vnf_instance_id` (`vnf_instance_id`),
  CONSTRAINT `vnf_lcm_op_occs_ibfk_1` FOREIGN KEY (`vnf_instance_id`) REFERENCES `vnf_instances` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_package_vnfd` (
  `id` varchar(36) NOT NULL,
  `package_uuid` varchar(36) NOT NULL,
  `vnfd_id` varchar(255) NOT NULL,
  `vnf_provider` varchar(255) NOT NULL,
  `vnf_product_name` varchar(255) NOT NULL,
  `vnf_software_version` varchar(255) NOT NULL,
  `vnfd_version` varchar(255) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` varchar(36) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vnf_package_vnfd0vnfd_id0deleted` (`vnfd_id`,`deleted`),
  KEY `package_uuid` (`package_uuid`),
  CONSTRAINT `vnf_package_vnfd_ibfk_1` FOREIGN KEY (`package_uuid`) REFERENCES `vnf_packages` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_packages_user_data` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `package_uuid` varchar(36) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` varchar(255) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vnf_packages_user_data0package_uuid0key0deleted` (`package_uuid`,`key`,`deleted`),
  KEY `vnf_packages_user_data_value_idx` (`value`),
  KEY `vnf_packages_user_data_key_idx` (`key`),
  CONSTRAINT `vnf_packages_user_data_ibfk_1` FOREIGN KEY (`package_uuid`) REFERENCES `vnf_packages` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_resources` (
  `id` varchar(36) NOT NULL,
  `vnf_instance_id` varchar(36) NOT NULL,
  `resource_name` text DEFAULT NULL,
  `resource_type` varchar(255) NOT NULL,
  `resource_identifier` varchar(255) NOT NULL,
  `resource_status` varchar(255) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  `tenant_id` varchar(64) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `vnf_instance_id` (`vnf_instance_id`),
  CONSTRAINT `vnf_resources_ibfk_1` FOREIGN KEY (`vnf_instance_id`) REFERENCES `vnf_instances` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_software_images` (
  `id` varchar(36) NOT NULL,
  `software_image_id` varchar(255) NOT NULL,
  `flavour_uuid` varchar(36) NOT NULL,
  `name` varchar(255) NOT NULL,
  `provider` varchar(255) NOT NULL,
  `version` varchar(255) NOT NULL,
  `algorithm` varchar(64) NOT NULL,
  `hash` varchar(128) NOT NULL,
  `container_format` varchar(20) NOT NULL,
  `disk_format` varchar(20) NOT NULL,
  `min_disk` bigint(20) DEFAULT NULL,
  `min_ram` bigint(20) DEFAULT NULL,
  `size` bigint(20) NOT NULL,
  `image_path` text NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `flavour_uuid` (`flavour_uuid`),
  CONSTRAINT `vnf_software_images_ibfk_1` FOREIGN KEY (`flavour_uuid`) REFERENCES `vnf_deployment_flavours` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnf_software_image_metadata` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `image_uuid` varchar(36) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` varchar(255) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  `deleted_at` datetime DEFAULT NULL,
  `deleted` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_vnf_software_image_metadata0idid0key0deleted` (`id`,`key`,`deleted`),
  KEY `image_uuid` (`image_uuid`),
  KEY `vnf_software_image_metadata_value_idx` (`value`),
  KEY `vnf_software_image_metadata_key_idx` (`key`),
  CONSTRAINT `vnf_software_image_metadata_ibfk_1` FOREIGN KEY (`image_uuid`) REFERENCES `vnf_software_images` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `vnfd_attribute` (
  `id` varchar(36) NOT NULL,
  `vnfd_id` varchar(255) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `vnfd_attribute_ibfk_1` (`vnfd_id`),
  CONSTRAINT `vnfd_attribute_ibfk_1` FOREIGN KEY (`vnfd_id`) REFERENCES `vnfd` (`id`)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `alembic_version` (
  `version_num` varchar(32) NOT NULL,
  PRIMARY KEY (`version_num`)
) ENGINE=InnoDB;
